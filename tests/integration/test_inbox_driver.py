"""The webhook's driver-level inbox insert stores exactly what the SQLAlchemy insert stores, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from storage.models.inbox import InboundEvent, InboxStatus
from storage.repos import inbound
from storage.repos.inbound import NewInbound
from storage.repos.inbox_driver import insert_new_rows

WHEN = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC)
PAYLOAD = "<xml><Content><![CDATA[请问发货了吗 😀 ' \" ; --]]></Content></xml>"


async def _autocommit(engine: AsyncEngine) -> Any:
    connection = await engine.connect()
    return await connection.execution_options(isolation_level="AUTOCOMMIT")


async def test_driver_rows_read_back_like_sqlalchemy_rows_and_are_due_at_once(engine: AsyncEngine) -> None:
    east8 = timezone(timedelta(hours=8))  # an aware time in another zone is stored as its UTC instant
    rows = [
        NewInbound("msg:1", "wecom", "text", PAYLOAD, WHEN),
        NewInbound("msg:2", "oa", "event/subscribe", "", WHEN.astimezone(east8)),
    ]
    connection = await _autocommit(engine)
    try:
        assert await insert_new_rows(connection, rows) == {"msg:1", "msg:2"}
    finally:
        await connection.close()
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        await inbound.insert_many_if_new(session, [NewInbound("msg:3", "wecom", "text", PAYLOAD, WHEN)])
    async with sessions() as session:
        stored = {e.dedupe_key: e for e in (await session.execute(select(InboundEvent))).scalars()}
        raw = {
            key: value
            for key, value in (await session.execute(text("SELECT dedupe_key, received_at FROM inbound_events"))).all()
        }
    assert [stored[k].id for k in ("msg:1", "msg:2", "msg:3")] == sorted(stored[k].id for k in stored)
    for key in ("msg:1", "msg:2"):
        event, reference = stored[key], stored["msg:3"]
        assert (event.received_at, event.next_attempt_at) == (WHEN, WHEN)
        assert (event.status, event.attempts, event.last_error, event.processed_at) == (InboxStatus.NEW, 0, "", None)
        assert raw[key] == raw["msg:3"]  # the same stored form, so the worker's `<= now` comparisons agree
        assert (reference.received_at, reference.status) == (event.received_at, event.status)
    assert stored["msg:1"].payload == PAYLOAD and stored["msg:2"].kind == "event/subscribe"
    async with sessions() as session, session.begin():
        due = await inbound.claim_batch(session, WHEN, 10)
    assert sorted(e.dedupe_key for e in due) == ["msg:1", "msg:2", "msg:3"]


async def test_driver_insert_skips_stored_keys_and_repeats_within_a_batch(engine: AsyncEngine) -> None:
    connection = await _autocommit(engine)
    try:
        assert await insert_new_rows(connection, [NewInbound("msg:1", "wecom", "text", "a", WHEN)]) == {"msg:1"}
        again = [NewInbound(k, "wecom", "text", "b", WHEN) for k in ("msg:1", "msg:2", "msg:2", "msg:3")]
        assert await insert_new_rows(connection, again) == {"msg:2", "msg:3"}
        assert await insert_new_rows(connection, []) == set()
        with pytest.raises(ValueError, match="naive"):
            await insert_new_rows(connection, [NewInbound("msg:4", "wecom", "text", "c", datetime(2026, 12, 7))])
    finally:
        await connection.close()
    async with engine.connect() as db:
        rows = (await db.execute(text("SELECT dedupe_key, payload FROM inbound_events ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [("msg:1", "a"), ("msg:2", "b"), ("msg:3", "b")]


async def test_a_whole_second_is_stored_as_sqlalchemy_stores_it(engine: AsyncEngine) -> None:
    whole = WHEN.replace(microsecond=0)  # the text form must still carry ".000000", as SQLAlchemy's does
    connection = await _autocommit(engine)
    try:
        await insert_new_rows(connection, [NewInbound("msg:driver", "wecom", "text", "", whole)])
    finally:
        await connection.close()
    async with async_sessionmaker(engine)() as session, session.begin():
        await inbound.insert_many_if_new(session, [NewInbound("msg:orm", "wecom", "text", "", whole)])
    async with engine.connect() as db:
        raw = dict((await db.execute(text("SELECT dedupe_key, received_at FROM inbound_events"))).all())
        later = await db.scalar(
            select(func.count()).where(InboundEvent.received_at > whole - timedelta(microseconds=1))
        )
    assert raw["msg:driver"] == raw["msg:orm"] and later == 2
