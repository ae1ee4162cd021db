"""A tag a rep adds to a customer becomes a `tag_added` timeline entry: what the tag_added campaign trigger reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repos import timeline

TAG_ADDED: Final = "tag_added"


async def record_tags_added(
    session: AsyncSession, customer_id: int, userid: str, added: Sequence[tuple[str, str]], now: datetime
) -> None:
    """One entry per new tag; the key holds the time, so removing and adding it again later counts again."""
    await record_tags_added_by(session, {(customer_id, userid): added}, now)


async def record_tags_added_by(
    session: AsyncSession, added: Mapping[tuple[int, str], Sequence[tuple[str, str]]], now: datetime
) -> None:
    """`record_tags_added` for several follows' new tags at once, keyed by (customer_id, userid): one statement."""
    entries: list[dict[str, Any]] = [
        {
            "customer_id": customer_id,
            "kind": TAG_ADDED,
            "occurred_at": now,
            "source_key": f"{TAG_ADDED}:{customer_id}:{userid}:{tag_id}:{now.isoformat()}",
            "member_userid": userid,
            "detail": {"tag": name},
        }
        for (customer_id, userid), tags in added.items()
        for tag_id, name in tags
    ]
    await timeline.add_events_once(session, entries)
