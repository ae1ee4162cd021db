"""A campaign's audience as one SQL condition: its filter or saved segment, narrowed by its trigger for the day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.document import CampaignDocument
from campaigns.segment_filter import Node, parse_filter
from campaigns.segment_sql import Moment, compile_node
from campaigns.triggers import trigger_condition
from storage.repos import segments as segment_rows


class CampaignBroken(Exception):
    """A campaign that can no longer run as defined (its saved segment was deleted ...)."""


async def audience_condition(
    session: AsyncSession, document: CampaignDocument, scheduled: datetime, now: datetime, zone: str
) -> ColumnElement[bool]:
    """Who the campaign reaches at `scheduled`: its filter or saved segment and its trigger (CampaignBroken if gone)."""
    node = await _filter_node(session, document)
    condition = compile_node(node, Moment(now, zone)) if node is not None else true()
    if document.trigger is not None:
        today = scheduled.astimezone(ZoneInfo(zone)).date()
        condition = condition & trigger_condition(document.trigger, today, zone)
    return condition


async def _filter_node(session: AsyncSession, document: CampaignDocument) -> Node | None:
    if document.filter is not None:
        return parse_filter(document.filter, "filter")
    if document.segment is None:
        return None
    saved = await segment_rows.by_name_or_id(session, document.segment)
    if saved is None:
        raise CampaignBroken(f"分群「{document.segment}」已不存在 / segment {document.segment!r} no longer exists")
    return parse_filter(saved.filter, "segment")
