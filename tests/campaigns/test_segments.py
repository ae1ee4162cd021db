"""Segments on SQLite and PostgreSQL: every filter field selects the right customers; bad documents name the path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns import segments
from campaigns.rfm import run_rfm
from campaigns.segment_filter import FilterError, parse_filter
from campaigns.segment_sql import Moment
from storage.db import make_sessionmaker
from storage.models.campaigns import ContactPref, CustomerAttribute
from storage.models.customers import Customer, CustomerTag, Member
from storage.models.groups import Group, GroupMember
from storage.models.messages import ChatType, Message, SenderKind
from storage.models.purchases import Purchase
from storage.models.service import ChurnScore
from storage.models.surveys import Survey

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
MOMENT = Moment(NOW, "Asia/Shanghai")


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def _world(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Five customers: 1 VIP big spender who spoke yesterday, 2 silent VIP detractor, 3 opted out, 4 lost,
    5 group-only; plus a customer merged away that no segment may ever select."""
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        s.add_all([Member(userid="lisi", name="李四"), Member(userid="wangwu", name="王五")])
        s.add_all(
            [
                Customer(
                    id=1,
                    external_userid="wm1",
                    name="张三",
                    owner_userid="lisi",
                    first_seen_at=ago(400),
                    became_contact_at=ago(400),
                ),
                Customer(
                    id=2,
                    external_userid="wm2",
                    name="赵六",
                    owner_userid="lisi",
                    first_seen_at=ago(90),
                    became_contact_at=ago(90),
                ),
                Customer(
                    id=3,
                    external_userid="wm3",
                    name="钱七",
                    owner_userid="wangwu",
                    first_seen_at=ago(10),
                    became_contact_at=ago(10),
                ),
                Customer(
                    id=4,
                    external_userid="wm4",
                    name="孙八",
                    owner_userid="wangwu",
                    first_seen_at=ago(300),
                    became_contact_at=ago(300),
                    lost_at=ago(20),
                ),
                Customer(id=5, external_userid="wm5", name="周九", first_seen_at=ago(5)),
                Customer(
                    id=6,
                    external_userid="wm6",
                    name="旧号",
                    owner_userid="lisi",
                    first_seen_at=ago(5),
                    became_contact_at=ago(5),
                    merged_into_id=1,
                ),
            ]
        )
        await s.flush()
        s.add_all(
            [
                CustomerTag(customer_id=1, userid="lisi", tag_id="t1", tag_name="VIP"),
                CustomerTag(customer_id=1, userid="lisi", tag_id="t2", tag_name="金卡"),
                CustomerTag(customer_id=2, userid="lisi", tag_id="t1", tag_name="VIP"),
                CustomerTag(customer_id=6, userid="lisi", tag_id="t1", tag_name="VIP"),
                Group(chat_id="wrA", name="会员群", owner_userid="lisi"),
            ]
        )
        await s.flush()
        s.add(GroupMember(chat_id="wrA", member_id="wm5", member_type=2, customer_id=5))
        s.add_all(
            [
                _message(1, 1, ChatType.KF, ago(1)),
                _message(2, 2, ChatType.GROUP, ago(60)),
                _message(3, 3, ChatType.OA, ago(2)),
                Purchase(customer_id=1, reference="A1", item="猫粮", amount_cents=50000, purchased_at=ago(3)),
                Purchase(customer_id=1, reference="A2", item="猫砂", amount_cents=30000, purchased_at=ago(40)),
                Purchase(customer_id=2, reference="A3", item="猫粮", amount_cents=9900, purchased_at=ago(200)),
                Survey(
                    customer_id=2,
                    kind="nps",
                    trigger="manual",
                    channel="kf",
                    chat_id="x",
                    status="answered",
                    asked_at=ago(9),
                    expires_at=ago(7),
                    score=3,
                    answered_at=ago(9),
                ),
                Survey(
                    customer_id=1,
                    kind="csat",
                    trigger="manual",
                    channel="kf",
                    chat_id="x",
                    status="answered",
                    asked_at=ago(9),
                    expires_at=ago(7),
                    score=2,
                    answered_at=ago(9),
                ),
                Survey(
                    customer_id=1,
                    kind="csat",
                    trigger="manual",
                    channel="kf",
                    chat_id="y",
                    status="answered",
                    asked_at=ago(2),
                    expires_at=ago(1),
                    score=5,
                    answered_at=ago(2),
                ),
                ChurnScore(customer_id=2, risk=0.8, reasons=[], features={}, at_risk=True, scored_at=ago(1)),
                ContactPref(customer_id=3, opted_out_at=ago(1), source="kf"),
                CustomerAttribute(customer_id=3, name="birthday", value="1990-12-10", updated_at=NOW),
                CustomerAttribute(customer_id=2, name="birthday", value="1985-06-01", updated_at=NOW),
                CustomerAttribute(customer_id=1, name="renewal_date", value="2026-12-20", updated_at=NOW),
                CustomerAttribute(customer_id=2, name="renewal_date", value="2027-05-01", updated_at=NOW),
                CustomerAttribute(customer_id=2, name="会员等级", value="黄金", updated_at=NOW),
            ]
        )
    return sessions


def _message(mid: int, customer_id: int, chat_type: ChatType, at: datetime) -> Message:
    return Message(
        id=mid,
        source_key=f"m{mid}",
        channel="kf",
        chat_type=chat_type,
        chat_id=f"c{mid}",
        sender_kind=SenderKind.CUSTOMER,
        customer_id=customer_id,
        msgtype="text",
        text="你好",
        sent_at=at,
    )


async def _ids(sessions: async_sessionmaker[AsyncSession], document: dict[str, Any]) -> list[int]:
    async with sessions() as session:
        shown = await segments.preview(session, segments.filter_of(document), MOMENT, sample_size=100)
    ids = [row["id"] for row in shown.sample]
    assert shown.count == len(ids)
    return ids


CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({"tags": {"any": ["VIP"]}}, [1, 2]),
    ({"tags": {"all": ["VIP", "金卡"]}}, [1]),
    ({"tags": {"none": ["VIP"]}}, [3, 4, 5]),
    ({"last_message": {"older_than_days": 30}}, [2, 4, 5]),
    ({"last_message": {"within_days": 7}}, [1, 3]),
    ({"opted_out": True}, [3]),
    ({"not": {"opted_out": True}}, [1, 2, 4, 5]),
    ({"owner": {"in": ["wangwu"]}}, [3, 4]),
    ({"group": {"in": ["wrA"]}}, [5]),
    ({"group": {"in": ["会员群"]}}, [5]),  # the group's name, as a manager sees it
    ({"group": {"any": ["会员群"]}}, [5]),  # written as tags are
    ({"owner": {"in": ["王五"]}}, [3, 4]),  # the rep's name
    ({"channel": {"in": ["kf", "oa"]}}, [1, 3]),
    ({"became_contact": {"within_days": 30}}, [3]),
    ({"purchases": {"count_gte": 2}}, [1]),
    ({"purchases": {"amount_gte": 500}}, [1]),
    ({"purchases": {"last_older_than_days": 30}}, [2]),
    ({"purchases": {"last_within_days": 7}}, [1]),
    ({"csat_last": {"gte": 4}}, [1]),  # the latest answer counts, not the older 2
    ({"nps": {"category": "detractor"}}, [2]),
    ({"churn_risk": {"gte": 0.5}}, [2]),
    ({"birthday": {"within_days": 7}}, [3]),
    ({"attribute": {"name": "renewal_date", "before": "2027-01-01"}}, [1]),
    ({"attribute": {"name": "会员等级", "in": ["黄金", "白金"]}}, [2]),
    ({"status": {"in": ["lost"]}}, [4]),
    ({"status": {"in": ["group_only"]}}, [5]),
    (
        {"all": [{"tags": {"any": ["VIP"]}}, {"last_message": {"older_than_days": 30}}, {"not": {"opted_out": True}}]},
        [2],
    ),
    ({"any": [{"owner": {"in": ["wangwu"]}}, {"group": {"in": ["wrA"]}}]}, [3, 4, 5]),
]


@pytest.mark.parametrize(("document", "expected"), CASES, ids=[str(c[0]) for c in CASES])
async def test_filter_selects_the_right_customers_when_evaluated(
    engine: AsyncEngine, document: dict[str, Any], expected: list[int]
) -> None:
    sessions = await _world(engine)
    assert await _ids(sessions, document) == expected


async def test_rfm_tier_selects_scored_customers_when_rfm_has_run(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    await run_rfm(sessions, NOW)
    assert await _ids(sessions, {"rfm_tier": {"in": ["重要价值"]}}) == [1]
    assert await _ids(sessions, {"rfm_tier": {"in": ["未购客户"]}}) == [3, 4, 5]


async def test_preview_counts_per_owner_when_a_segment_is_saved(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as session, session.begin():
        view = await segments.create_segment(session, {"name": "VIP", "tags": {"any": ["VIP"]}}, NOW)
    async with sessions() as session:
        saved = await segments.find_segment(session, "VIP")
        shown = await segments.preview(session, segments.filter_of({"filter": saved.filter}), MOMENT)
    assert saved.id == view.id and saved.filter == {"tags": {"any": ["VIP"]}}
    assert shown.count == 2 and shown.by_owner == {"lisi": 2}
    assert shown.owner_names == {"lisi": "李四"}
    assert shown.sample[0]["owner_name"] == "李四"


async def test_create_refuses_a_duplicate_name_when_one_exists(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as session, session.begin():
        await segments.create_segment(session, {"name": "VIP", "tags": {"any": ["VIP"]}}, NOW)
    async with sessions() as session:
        with pytest.raises(segments.SegmentError, match="已存在"):
            await segments.create_segment(session, {"name": "VIP", "owner": {"in": ["lisi"]}}, NOW)


BAD: list[tuple[object, str]] = [
    (
        {"all": [{"tags": {"any": ["VIP"]}}, {"rfm_tier": {"in": ["土豪"]}}]},
        r"all\[1\]\.rfm_tier\.in\[0\]: 没有「土豪客户」这个值，可用：重要价值客户.* / unknown value",
    ),
    (
        {"all": [{"last_message": {"older_than_days": "thirty"}}]},
        r"all\[0\]\.last_message\.older_than_days: 应为 0 到 36500 的整数天数 / expected",
    ),
    ({"colour": {"in": ["red"]}}, r"colour: 没有这个字段.* / unknown field"),
    ({"tags": {"some": ["VIP"]}}, r"tags\.some: 没有这个运算符，可用：any、all、none / unknown operator"),
    ({"any": []}, r"any: 应为非空的条件列表 / expected a non-empty list"),
    ({"tags": {"any": ["VIP"]}, "owner": {"in": ["lisi"]}}, r"expected exactly one"),
    ({"churn_risk": {"gte": 3}}, r"churn_risk\.gte: 应为 0 到 1 之间的风险值 / expected a risk from 0 to 1"),
    ({"opted_out": "yes"}, r"opted_out: 应为 true 或 false / expected true or false"),
    (["tags"], r"expected a mapping"),
    ({"group": {"some": ["会员群"]}}, r"group\.some: 没有这个运算符，可用：in、any / unknown operator"),
]


@pytest.mark.parametrize(("document", "message"), BAD, ids=[m for _, m in BAD])
def test_parse_names_the_bad_field_when_the_document_is_wrong(document: object, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filter(document)
