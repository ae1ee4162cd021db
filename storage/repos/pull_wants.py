"""Pulls wanted from the process that leads a puller: a follower that receives a trigger marks it here (a `cursors`
row named want:<duty>:<target>), and the leader polls the marks, pulls, and clears each mark it served unless a newer
trigger re-marked it meanwhile (then it pulls again)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.inbox import Cursor

PREFIX: Final = "want:"


@dataclass(frozen=True, slots=True)
class Want:
    target: str  # a kf account's open_kfid; "" for a source with one cursor (the archive)
    token: str  # the callback's token, if any (kf/sync_msg is rate-limited harder without it)
    mark: str  # the row's value as read: cleared only if still this


def _name(duty: str, target: str) -> str:
    return f"{PREFIX}{duty}:{target}"


async def mark(session: AsyncSession, duty: str, target: str, token: str, now: datetime) -> None:
    """Ask the leader for a pull; a fresh value each time, so a pull already under way does not clear this one."""
    value = f"{uuid.uuid4().hex}|{token}"[:256]
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = insert(Cursor).values(name=_name(duty, target), value=value, updated_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": now})
    await session.execute(stmt)


async def pending(session: AsyncSession, duty: str) -> list[Want]:
    prefix = _name(duty, "")
    rows = (await session.execute(select(Cursor.name, Cursor.value).where(Cursor.name.startswith(prefix)))).all()
    return [Want(name.removeprefix(prefix), value.partition("|")[2], value) for name, value in rows]


async def clear(session: AsyncSession, duty: str, want: Want) -> None:
    await session.execute(delete(Cursor).where(Cursor.name == _name(duty, want.target), Cursor.value == want.mark))
