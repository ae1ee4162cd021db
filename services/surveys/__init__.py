"""In-chat CSAT/NPS surveys: asking, reading answers, triggers and statistics."""
