"""Tag edits from Qunke: names resolved to WeCom's tag ids, queued as mark_tag as the owner rep, and the wire body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.wire import Claim, build_request
from services.customers import tagging
from storage.db import make_sessionmaker
from storage.models.customers import Customer, CustomerTag
from storage.models.outbox import Outbox

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


async def test_tag_change_goes_out_as_mark_tag_with_tag_ids_when_the_names_are_known(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        s.add_all(
            [
                Customer(id=1, external_userid="wm1", name="张三", owner_userid="lisi", first_seen_at=NOW),
                Customer(id=2, external_userid="wm2", name="赵六", owner_userid="lisi", first_seen_at=NOW),
            ]
        )
        await s.flush()
        s.add_all(
            [
                CustomerTag(customer_id=1, userid="lisi", tag_id="etVIP", tag_name="VIP"),
                CustomerTag(customer_id=2, userid="lisi", tag_id="etGOLD", tag_name="金卡"),
            ]
        )
    async with sessions() as s, s.begin():
        change = await tagging.change_tags(s, NOW, "wm2", ["VIP"], ["金卡"])
    async with sessions() as s, s.begin():
        with pytest.raises(tagging.TagError, match="未知标签：土豪"):
            await tagging.change_tags(s, NOW, "1", ["土豪"], [])
    async with sessions() as s:
        row = await s.get(Outbox, change.outbox_id)
    assert row is not None
    claim = Claim(
        row_id=row.id,
        attempt=1,
        kind=row.kind,
        api=row.api,
        recipient=row.recipient,
        payload=dict(row.payload),
        result={},
        idempotency_key=row.idempotency_key,
        priority=row.priority,
        lease_until=NOW + timedelta(minutes=1),
        first_attempt_at=NOW,
        unknown_since=None,
    )
    request = build_request(claim, 1000002, 14400)
    assert request.path == "/cgi-bin/externalcontact/mark_tag"
    assert request.body == {"userid": "lisi", "external_userid": "wm2", "add_tag": ["etVIP"], "remove_tag": ["etGOLD"]}
