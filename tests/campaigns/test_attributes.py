"""Attribute import on SQLite and PostgreSQL: every bad row reported by line and nothing written, then idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from services.customers.attributes import attributes_of, import_attributes
from storage.db import make_sessionmaker
from storage.models.customers import Customer

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


async def test_import_reports_every_bad_row_and_writes_nothing_when_any_is_wrong(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        s.add_all([Customer(id=i, external_userid=f"wm{i}", name=f"客户{i}", first_seen_at=NOW) for i in (1, 2)])
    bad = "customer,birthday,会员等级\nwm1,1990-13-01,黄金\nnobody,1990-01-01,白银\n2,1985/6/1,\n"
    async with sessions() as s, s.begin():
        refused = await import_attributes(s, bad, NOW)
    assert [e.line for e in refused.errors] == [2, 3]
    assert refused.errors[0].message.startswith("birthday:") and "nobody" in refused.errors[1].message
    async with sessions() as s:
        assert await attributes_of(s, 1) == {}

    good = "customer,birthday,会员等级\nwm1,1990-12-01,黄金\n2,1985/6/1,\n"
    async with sessions() as s, s.begin():
        first = await import_attributes(s, good, NOW)
    async with sessions() as s, s.begin():
        again = await import_attributes(s, good, NOW)
    assert (first.written, first.unchanged, first.errors) == (3, 0, [])
    assert (again.written, again.unchanged) == (0, 3)
    async with sessions() as s:
        assert await attributes_of(s, 1) == {"birthday": "1990-12-01", "会员等级": "黄金"}
        assert await attributes_of(s, 2) == {"birthday": "1985-06-01"}


async def test_header_must_start_with_customer_when_importing(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as s:
        result = await import_attributes(s, "id,birthday\n1,1990-01-01\n", NOW)
    assert result.errors[0].line == 1 and "customer" in result.errors[0].message


async def test_profile_shows_attributes_rfm_tier_and_opt_out_when_they_exist(engine: AsyncEngine) -> None:
    from campaigns.rfm import run_rfm
    from services.customers.profiles import customer_profile
    from storage.models.campaigns import ContactPref
    from storage.models.purchases import Purchase

    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        s.add(Customer(id=1, external_userid="wm1", name="客户1", first_seen_at=NOW))
        await s.flush()
        s.add(Purchase(customer_id=1, reference="p", amount_cents=100, purchased_at=NOW))
        s.add(ContactPref(customer_id=1, opted_out_at=NOW, source="kf"))
    async with sessions() as s, s.begin():
        await import_attributes(s, "customer,birthday\nwm1,1990-12-10\n", NOW)
    await run_rfm(sessions, NOW)
    async with sessions() as s:
        profile = await customer_profile(s, 1)
    assert profile is not None
    assert profile.attributes == {"birthday": "1990-12-10"} and profile.opted_out
    assert profile.scores["rfm_tier"] == "一般挽留客户" and profile.scores["rfm"]["r"] == 1
