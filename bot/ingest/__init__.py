"""Ingest: the durable inbox, the worker that drains it into the dispatcher, intake and directory sync."""
