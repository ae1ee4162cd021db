"""The delivery log: callback attempts and what the bot sends, the sender's HTTP pool, and one-line descriptions."""
