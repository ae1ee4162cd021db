"""Persistence: SQLAlchemy models, engine/session factory, intent-named repos and Alembic migrations."""
