"""Segments as a manager uses them: create from a filter document, list, show, preview (count, per owner, sample)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.segment_filter import DOCUMENT_KEYS, FilterError, Node, parse_filter
from campaigns.segment_sql import Moment, compile_node
from storage.models.customers import Customer, Member
from storage.planner import prefer_index_walks
from storage.repos import segments as segment_rows

SAMPLE_SIZE: Final = 5
NAME_MAX: Final = 128


class SegmentError(ValueError):
    """A segment that cannot be created or found; the message says why in Chinese and names the field."""


@dataclass(frozen=True, slots=True)
class SegmentView:
    id: int
    name: str
    description: str
    filter: dict[str, Any]
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Preview:
    count: int
    by_owner: dict[str, int]
    sample: list[dict[str, Any]] = field(default_factory=list)
    owner_names: dict[str, str] = field(default_factory=dict)  # by_owner's userids as people read them ("张三")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def filter_of(document: Mapping[str, Any]) -> Node:
    """The filter tree of a segment document: its tree under `filter:` or beside `name:`; errors name the path."""
    tree = document.get("filter", {k: v for k, v in document.items() if k not in DOCUMENT_KEYS})
    try:
        return parse_filter(tree, "filter" if "filter" in document else "")
    except FilterError as exc:
        raise SegmentError(f"筛选条件有误 / invalid filter: {exc}") from None


def _tree(document: Mapping[str, Any]) -> dict[str, Any]:
    tree = document.get("filter", {k: v for k, v in document.items() if k not in DOCUMENT_KEYS})
    return dict(tree) if isinstance(tree, Mapping) else {}


async def create_segment(
    session: AsyncSession, document: Mapping[str, Any], now: datetime, created_by: str = ""
) -> SegmentView:
    name = document.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise SegmentError(f"name: 需要分群名称（1-{NAME_MAX} 个字）/ expected a segment name")
    filter_of(document)  # validate before anything is written
    name = name.strip()
    if await segment_rows.by_name_or_id(session, name) is not None:
        raise SegmentError(f"name: 分群「{name}」已存在 / a segment with this name exists")
    description = str(document.get("description", ""))[:512]
    row = await segment_rows.insert(session, name, description, _tree(document), created_by, now)
    return _view(row)


async def find_segment(session: AsyncSession, key: str) -> SegmentView:
    row = await segment_rows.by_name_or_id(session, key)
    if row is None:
        raise SegmentError(f"没有名为「{key}」的分群 / no such segment: {key}")
    return _view(row)


async def list_segments(session: AsyncSession) -> list[SegmentView]:
    return [_view(row) for row in await segment_rows.list_all(session)]


async def delete_segment(session: AsyncSession, key: str) -> SegmentView:
    view = await find_segment(session, key)
    await segment_rows.remove(session, view.id)
    return view


async def preview(session: AsyncSession, node: Node, moment: Moment, sample_size: int = SAMPLE_SIZE) -> Preview:
    """How many customers the filter selects now, how many per owner rep, and a few of them by name."""
    per_owner, first = preview_queries(node, moment, sample_size)
    await prefer_index_walks(session)  # merged index-only scans over every customer, not a parallel hash of tables
    by_owner: dict[str, int] = {}
    for owner, n in await session.execute(per_owner):
        key = owner or "(无负责人)"  # NULL and '' are both "no owner"
        by_owner[key] = by_owner.get(key, 0) + int(n)
    sample = [
        {"id": cid, "name": name, "external_userid": ext, "owner": owner, "owner_name": owner_name or ""}
        for cid, name, ext, owner, owner_name in await session.execute(first)
    ]
    count = sum(by_owner.values())
    named = select(Member.userid, Member.name).where(Member.userid.in_(sorted(by_owner)), Member.name != "")
    names = {userid: name for userid, name in await session.execute(named)}
    return Preview(count, dict(sorted(by_owner.items(), key=lambda kv: (-kv[1], kv[0]))), sample, names)


OwnerCounts = Select[str | None, int]
SampleRows = Select[int, str, str | None, str | None, str]


def preview_queries(node: Node, moment: Moment, sample_size: int = SAMPLE_SIZE) -> tuple[OwnerCounts, SampleRows]:
    """The preview's two statements: counts per owner (their sum is the count, so the filter is evaluated once over
    every customer) and the sample, which walks the primary key and stops after `sample_size` matches."""
    chosen = and_(Customer.merged_into_id.is_(None), compile_node(node, moment))
    per_owner = select(Customer.owner_userid, func.count()).where(chosen).group_by(Customer.owner_userid)
    first = (
        select(Customer.id, Customer.name, Customer.external_userid, Customer.owner_userid, Member.name)
        .outerjoin(Member, Member.userid == Customer.owner_userid)
        .where(chosen)
        .order_by(Customer.id)
        .limit(sample_size)
    )
    return per_owner, first


def _view(row: Any) -> SegmentView:
    return SegmentView(row.id, row.name, row.description, dict(row.filter), row.created_by, row.created_at)
