"""Every table's model, imported in one place so Alembic and tests see the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData

from storage.models import (
    base,
    campaigns,
    console,
    customers,
    faq,
    groups,
    inbox,
    masstasks,
    messages,
    outbox,
    purchases,
    service,
    surveys,
    tickets,
)

# Importing a model module registers its tables on the one Base.metadata; the tuple keeps every import used.
MODEL_MODULES = (
    campaigns,
    console,
    customers,
    faq,
    groups,
    inbox,
    masstasks,
    messages,
    outbox,
    purchases,
    service,
    surveys,
    tickets,
)
metadata: MetaData = base.Base.metadata

__all__ = ["MODEL_MODULES", "metadata"]
