"""Saved segments: insert, look up by id or name, list and delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.campaigns import Segment


async def insert(
    session: AsyncSession, name: str, description: str, document: dict[str, Any], created_by: str, now: datetime
) -> Segment:
    segment = Segment(
        name=name, description=description, filter=document, created_by=created_by, created_at=now, updated_at=now
    )
    session.add(segment)
    await session.flush()
    return segment


async def by_name_or_id(session: AsyncSession, key: str) -> Segment | None:
    found = await session.scalar(select(Segment).where(Segment.name == key))
    if found is None and key.isdigit():
        found = await session.get(Segment, int(key))
    return found


async def list_all(session: AsyncSession) -> list[Segment]:
    return list(await session.scalars(select(Segment).order_by(Segment.id)))


async def remove(session: AsyncSession, segment_id: int) -> None:
    await session.execute(delete(Segment).where(Segment.id == segment_id))
