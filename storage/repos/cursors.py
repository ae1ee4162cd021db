"""Pull cursors (a kf account's next_cursor, the archive seq), read under a row lock and saved with their messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.inbox import Cursor


async def lock(session: AsyncSession, name: str, now: datetime) -> str:
    """The cursor's value; on PostgreSQL its row stays locked until the transaction ends, so two processes never
    pull the same page. SQLite runs one process by design, and only reads here: a write now would hold SQLite's
    single write lock across the pull's HTTP call and stall the webhook's acks."""
    if dialect_of(session) != "postgresql":
        return await read(session, name)
    await session.execute(
        pg_insert(Cursor).values(name=name, value="", updated_at=now).on_conflict_do_nothing(index_elements=["name"])
    )
    stmt = select(Cursor.value).where(Cursor.name == name).with_for_update()
    return (await session.execute(stmt)).scalar_one()


async def save(session: AsyncSession, name: str, value: str, now: datetime) -> None:
    cursor = await session.get(Cursor, name)
    if cursor is None:
        session.add(Cursor(name=name, value=value, updated_at=now))
    else:
        cursor.value, cursor.updated_at = value, now


async def read(session: AsyncSession, name: str) -> str:
    return (await session.execute(select(Cursor.value).where(Cursor.name == name))).scalar_one_or_none() or ""
