"""FAQ answering: the knowledge base, the offline matcher, and what the bot does with its decision."""
