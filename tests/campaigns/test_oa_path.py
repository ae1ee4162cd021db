"""The oa_template path on SQLite and PostgreSQL: a template message per chosen customer with a known OA openid,
fields rendered per customer; no openid is skipped as no_openid; an OA-only follower is reachable."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from campaigns import manage, runs
from storage.models.customers import Customer, CustomerTag
from storage.models.outbox import Outbox, OutboxKind
from tests.campaigns.test_runs import NOW, POLICY, _create, _doc, _sends, _world

TEMPLATE = {
    "template_id": "qunke_demo_activity",
    "data": {"thing1": "{{ name }}的双十二专享", "time2": "12月12日 20:00"},
    "url": "https://example.com/1212",
}


async def test_template_goes_to_customers_with_an_openid_when_the_campaign_fires(engine: AsyncEngine) -> None:
    sessions = await _world(engine)
    async with sessions() as session, session.begin():
        await session.execute(update(Customer).where(Customer.id == 1).values(oa_openid="oA1"))
        session.add(Customer(id=7, external_userid=None, oa_openid="oA7", name="公众号粉丝", first_seen_at=NOW))
        await session.flush()
        session.add(CustomerTag(customer_id=7, userid="lisi", tag_id="t1", tag_name="VIP"))
    await _create(sessions, _doc(path="oa_template", message="双十二模板消息", oa_template=TEMPLATE))
    await runs.tick(sessions, NOW, POLICY)

    async with sessions() as session:
        rows = (await session.scalars(select(Outbox).where(Outbox.kind == OutboxKind.OA_TEMPLATE))).all()
    assert {row.recipient: row.payload["data"]["thing1"] for row in rows} == {
        "oA1": "张三的双十二专享",
        "oA7": "公众号粉丝的双十二专享",
    }
    assert rows[0].payload["template_id"] == "qunke_demo_activity" and rows[0].payload["url"].endswith("1212")
    sends = await _sends(sessions)
    assert sends[1] == ("queued", "") and sends[7] == ("queued", "")
    assert sends[2] == ("skipped", "no_openid") and sends[4] == ("skipped", "opted_out")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"oa_template": {**TEMPLATE, "data": {"thing1": "{{ shoe_size }}"}}}, "oa_template.data.thing1: 未知变量"),
        ({"oa_template": None}, "path oa_template needs `oa_template`"),
    ],
)
async def test_template_campaign_is_refused_naming_the_field_when_it_is_wrong(
    engine: AsyncEngine, change: dict[str, object], expected: str
) -> None:
    sessions = await _world(engine)
    document = {**_doc(path="oa_template", oa_template=TEMPLATE), **change}
    with pytest.raises(manage.CampaignError, match=expected):
        await _create(sessions, {k: v for k, v in document.items() if v is not None})
