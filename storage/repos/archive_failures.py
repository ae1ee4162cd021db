"""Archive items that could not be read, kept with the reason so an operator can see and fix them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.inbox import ArchiveFailure


class FailedItem(Protocol):
    @property
    def seq(self) -> int: ...

    @property
    def msgid(self) -> str: ...

    @property
    def publickey_ver(self) -> int: ...

    def raw(self) -> dict[str, Any]: ...


async def record(session: AsyncSession, failures: Sequence[tuple[FailedItem, Exception]], now: datetime) -> None:
    if not failures:
        return
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    rows = [
        {
            "seq": item.seq,
            "msgid": item.msgid,
            "publickey_ver": item.publickey_ver,
            "reason": str(error),
            "raw": item.raw(),
            "failed_at": now,
        }
        for item, error in failures
    ]
    await session.execute(insert(ArchiveFailure).values(rows).on_conflict_do_nothing(index_elements=["seq"]))


async def recent(session: AsyncSession, limit: int = 100) -> list[ArchiveFailure]:
    rows = await session.execute(select(ArchiveFailure).order_by(ArchiveFailure.seq.desc()).limit(limit))
    return list(rows.scalars())
