"""The models split across storage/models/ still describe exactly the schema the Alembic migrations build."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.schema import metadata


def _migrated_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _autogenerate_diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"render_as_batch": True})
    return list(compare_metadata(context, metadata))


async def test_metadata_has_every_migrated_table_when_models_are_split_by_domain(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        migrated = await conn.run_sync(_migrated_tables)
    assert set(metadata.tables) == migrated


async def test_autogenerate_finds_nothing_to_migrate_when_database_is_at_head(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_autogenerate_diff)
    assert diff == []
