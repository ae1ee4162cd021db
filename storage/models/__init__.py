"""SQLAlchemy models, one module per domain; the declarative Base and shared column types live in base.py."""
