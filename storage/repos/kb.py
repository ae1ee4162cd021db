"""The knowledge base: entries, their question variants, and the revision number every change moves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.faq import KbEntry, KbQuestion, KbRevision

REVISION_ROW: Final = 1


def _insert(session: AsyncSession) -> Any:
    return pg_insert if dialect_of(session) == "postgresql" else sqlite_insert


async def revision(session: AsyncSession) -> int:
    """The KB's current revision (0 before the first change): one primary-key read, cheap enough per question."""
    value = await session.scalar(select(KbRevision.revision).where(KbRevision.id == REVISION_ROW))
    return int(value or 0)


async def bump_revision(session: AsyncSession, now: datetime) -> int:
    """Move the revision on, in the caller's transaction, so readers see the change and the new number together."""
    stmt = _insert(session)(KbRevision).values(id=REVISION_ROW, revision=1, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"], set_={"revision": KbRevision.revision + 1, "updated_at": now}
    ).returning(KbRevision.revision)
    return int((await session.execute(stmt)).scalar_one())


async def entries(session: AsyncSession, *, enabled_only: bool = False) -> list[KbEntry]:
    stmt = select(KbEntry).order_by(KbEntry.id)
    if enabled_only:
        stmt = stmt.where(KbEntry.enabled.is_(True))
    return list((await session.execute(stmt)).scalars())


async def questions_by_entry(session: AsyncSession, entry_ids: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Each entry's question variants in the order they were added."""
    stmt = select(KbQuestion.entry_id, KbQuestion.text).order_by(KbQuestion.entry_id, KbQuestion.id)
    if entry_ids is not None:
        stmt = stmt.where(KbQuestion.entry_id.in_(list(entry_ids)))
    found: dict[str, list[str]] = {}
    for entry_id, text in (await session.execute(stmt)).all():
        found.setdefault(entry_id, []).append(text)
    return found


async def entry(session: AsyncSession, entry_id: str) -> KbEntry | None:
    return await session.get(KbEntry, entry_id)


async def count_entries(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(KbEntry)) or 0)


async def add_entry(
    session: AsyncSession, entry_id: str, answer: str, tags: Sequence[str], enabled: bool, now: datetime
) -> KbEntry:
    row = KbEntry(id=entry_id, answer=answer, tags=list(tags), enabled=enabled, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    return row


async def add_questions(
    session: AsyncSession, entry_id: str, texts: Sequence[str], origin: str, now: datetime
) -> list[str]:
    """Add the variants the entry does not have yet; returns those added."""
    have = set((await questions_by_entry(session, [entry_id])).get(entry_id, []))
    new = [t for t in dict.fromkeys(texts) if t not in have]
    session.add_all(KbQuestion(entry_id=entry_id, text=t, origin=origin, created_at=now) for t in new)
    await session.flush()
    return new


async def remove_questions(session: AsyncSession, entry_id: str, texts: Sequence[str]) -> None:
    if texts:
        await session.execute(
            delete(KbQuestion).where(KbQuestion.entry_id == entry_id, KbQuestion.text.in_(list(texts)))
        )
