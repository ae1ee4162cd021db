"""Every table's model, imported in one place so Alembic and tests see the whole schema."""

from __future__ import annotations

from sqlalchemy import MetaData

from storage import models, models_campaigns, models_console, models_faq, models_service

metadata: MetaData = models.Base.metadata

__all__ = ["metadata", "models", "models_campaigns", "models_console", "models_faq", "models_service"]
