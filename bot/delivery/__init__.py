"""Delivery: the only code that sends: claims outbox rows, checks every quota, calls WeCom, records outcomes."""
