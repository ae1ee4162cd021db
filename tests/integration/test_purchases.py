"""Purchases on SQLite and PostgreSQL: CSV import idempotent by reference, errors by line, the timeline line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.customers.profiles import customer_profile
from services.purchases.recording import PurchaseError, import_csv, list_purchases, parse_amount, record_purchase
from storage.db import make_sessionmaker
from storage.models.customers import Customer
from storage.models.purchases import Purchase

ZONE = "Asia/Shanghai"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def _customers(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                Customer(id=1, external_userid="wmAAA", name="王小花", first_seen_at=NOW),
                Customer(id=2, external_userid="wmBBB", name="赵六", first_seen_at=NOW),
                Customer(id=3, external_userid="wmOLD", name="王小花（旧）", first_seen_at=NOW, merged_into_id=1),
            ]
        )
    return sessions


CSV = (
    "reference,customer,item,amount,purchased_at\n"
    "A-1001,wmAAA,咖啡豆 500g,99,2026-10-01 10:00\n"
    'A-1002,2,挂耳礼盒,"1,299.50",2026-10-05\n'
    "A-1003,wmOLD,滤纸,¥12.00,2026-10-07T09:00:00+08:00\n"
)


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Purchase))).scalar_one())


async def test_import_adds_each_reference_once_when_the_same_file_is_imported_twice(engine: AsyncEngine) -> None:
    sessions = await _customers(engine)

    async with sessions() as session, session.begin():
        first = await import_csv(session, CSV, ZONE)
    async with sessions() as session, session.begin():
        again = await import_csv(session, CSV.replace("滤纸", "滤纸（改）"), ZONE)

    assert (first.rows, first.added, first.already, first.errors) == (3, 3, 0, [])
    assert (again.added, again.already, again.errors) == (0, 3, [])
    assert [(c.line, "A-1003" in c.message) for c in again.conflicts] == [(4, True)]
    async with sessions() as session:
        rows = {p.reference: p for p in await list_purchases(session, 10)}
    assert rows["A-1002"].amount_cents == 129_950 and rows["A-1002"].customer_id == 2
    assert rows["A-1001"].purchased_at == datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert rows["A-1003"].customer_id == 1  # a merged profile's purchase lands on the person
    assert rows["A-1003"].item == "滤纸"  # the first import stands


async def test_import_writes_nothing_and_names_each_bad_line_when_any_line_is_wrong(engine: AsyncEngine) -> None:
    sessions = await _customers(engine)
    bad = (
        "reference,customer,item,amount,purchased_at\n"
        "B-1,wmAAA,咖啡豆,99,2026-10-01\n"
        "B-2,wmNOBODY,咖啡豆,99,2026-10-01\n"
        "B-3,1,咖啡豆,9.999,2026-10-01\n"
        "\n"
        "B-4,1,咖啡豆,-5,2026-10-01\n"
        "B-5,1,咖啡豆,5,昨天\n"
        "B-1,wmAAA,别的,99,2026-10-01\n"
    )

    async with sessions() as session, session.begin():
        result = await import_csv(session, bad, ZONE)

    assert [e.line for e in result.errors] == [3, 4, 6, 7, 8]
    assert "wmNOBODY" in result.errors[0].message and "两位小数" in result.errors[1].message
    assert "负数" in result.errors[2].message and "时间格式" in result.errors[3].message
    assert "第 2 行" in result.errors[4].message
    assert await _count(sessions) == 0


async def test_import_refuses_a_file_without_the_expected_header(engine: AsyncEngine) -> None:
    sessions = await _customers(engine)
    async with sessions() as session, session.begin():
        result = await import_csv(session, "order,who,amount\nX,1,5\n", ZONE)
    assert result.errors[0].line == 1 and "reference" in result.errors[0].message


async def test_a_recorded_purchase_shows_on_the_timeline_in_chinese(engine: AsyncEngine) -> None:
    sessions = await _customers(engine)
    async with sessions() as session, session.begin():
        view, new = await record_purchase(
            session,
            customer="wmAAA",
            reference="C-1",
            item="咖啡豆",
            amount="99.5",
            purchased_at="2026-11-01",
            zone=ZONE,
        )
    async with sessions() as session, session.begin():
        _, again = await record_purchase(
            session, customer="1", reference="C-1", item="咖啡豆", amount="99.5", purchased_at="2026-11-01", zone=ZONE
        )
    async with sessions() as session:
        profile = await customer_profile(session, 1)

    assert new and not again and view.amount_cents == 9950
    assert profile is not None
    bought = [t for t in profile.timeline if t.kind == "purchase"]
    assert [t.text for t in bought] == ["购买 咖啡豆（¥99.50）"]
    assert bought[0].detail["reference"] == "C-1"


def test_amounts_are_yuan_with_at_most_two_decimals() -> None:
    assert parse_amount("¥1,299.5") == 129_950 and parse_amount("0") == 0
    for wrong in ("abc", "1.001", "-1", "NaN"):
        with pytest.raises(PurchaseError):
            parse_amount(wrong)
