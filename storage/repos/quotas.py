"""Quota state every sender process shares: per-member send stamps, per-API call counters and API pauses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.outbox import ApiPause, MemberSendStamp, RateCounter


async def paused_apis(session: AsyncSession, now: datetime) -> dict[str, datetime]:
    rows = await session.execute(select(ApiPause.api, ApiPause.until).where(ApiPause.until > now))
    return {str(api): until for api, until in rows.all()}


async def pause_api(session: AsyncSession, api: str, until: datetime, reason: str) -> None:
    """Pause `api` until `until`, or keep the later pause another sender already set."""
    postgres = dialect_of(session) == "postgresql"
    upsert, later = (pg_insert, func.greatest) if postgres else (sqlite_insert, func.max)
    stmt = upsert(ApiPause).values(api=api, until=until, reason=reason[:200])
    stmt = stmt.on_conflict_do_update(
        index_elements=["api"],
        set_={"until": later(ApiPause.until, stmt.excluded.until), "reason": stmt.excluded.reason},
    )
    await session.execute(stmt)


async def member_stamps(session: AsyncSession, userids: Collection[str], since: datetime) -> dict[str, list[datetime]]:
    """Each member's send stamps after `since`, oldest first."""
    found: dict[str, list[datetime]] = defaultdict(list)
    if not userids:
        return found
    stmt = (
        select(MemberSendStamp.userid, MemberSendStamp.stamp)
        .where(MemberSendStamp.userid.in_(list(userids)), MemberSendStamp.stamp > since)
        .order_by(MemberSendStamp.stamp)
    )
    for userid, stamp in (await session.execute(stmt)).all():
        found[str(userid)].append(stamp)
    return found


async def add_member_stamps(session: AsyncSession, stamps: list[tuple[str, datetime, int]]) -> None:
    if stamps:
        rows = [{"userid": u, "stamp": s, "outbox_id": o} for u, s, o in stamps]
        await session.execute(insert(MemberSendStamp), rows)


async def settle_member_stamps(session: AsyncSession, outbox_id: int, landed_by: datetime) -> None:
    """An answer came: the message landed no later than `landed_by`, so its stamps may move back to it."""
    await session.execute(
        update(MemberSendStamp)
        .where(MemberSendStamp.outbox_id == outbox_id, MemberSendStamp.stamp > landed_by)
        .values(stamp=landed_by)
    )


async def counter_sums(session: AsyncSession, since: Mapping[str, int]) -> dict[str, int]:
    """For each scope, the calls counted in buckets at or after the given bucket."""
    if not since:
        return {}
    conditions = [(RateCounter.scope == scope) & (RateCounter.bucket >= bucket) for scope, bucket in since.items()]
    stmt = select(RateCounter.scope, func.sum(RateCounter.count)).where(or_(*conditions)).group_by(RateCounter.scope)
    sums = {scope: 0 for scope in since}
    for scope, total in (await session.execute(stmt)).all():
        sums[str(scope)] = int(total or 0)
    return sums


async def bump_counters(session: AsyncSession, increments: Mapping[tuple[str, int], int]) -> None:
    if not increments:
        return
    upsert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    for (scope, bucket), count in sorted(increments.items()):  # one order everywhere: no lock-order deadlocks
        stmt = upsert(RateCounter).values(scope=scope, bucket=bucket, count=count)
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope", "bucket"], set_={"count": RateCounter.count + stmt.excluded.count}
        )
        await session.execute(stmt)


async def prune(session: AsyncSession, stamps_before: datetime, buckets_before: Mapping[str, int]) -> None:
    """Forget stamps and counters that no window can reach any more."""
    await session.execute(delete(MemberSendStamp).where(MemberSendStamp.stamp < stamps_before))
    for prefix, bucket in buckets_before.items():
        await session.execute(
            delete(RateCounter).where(RateCounter.scope.startswith(prefix), RateCounter.bucket < bucket)
        )
    await session.execute(delete(ApiPause).where(ApiPause.until < stamps_before))
