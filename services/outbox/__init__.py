"""Outgoing messages: the platform-free message types, the outbox queue and mass tasks."""
