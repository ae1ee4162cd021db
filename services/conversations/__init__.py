"""Conversations: what people said, from any channel, on the chat and the customer's timeline."""
