"""The oa_template path over real HTTP: a campaign's template message leaves the outbox through the OA's
template/send and reaches the follower in the sandbox, with the fields rendered for that customer."""

from __future__ import annotations

from typing import Any

from bot.campaign_policy import campaign_policy
from campaigns import manage, runs
from services.clock import SystemClock
from storage.models.customers import Customer
from tests.integration.test_faq import eventually
from tests.support.stack import bot_settings, running_stack


async def test_campaign_template_reaches_the_follower_when_their_openid_is_known(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        state = await stack.sandbox_state()
        openid = next(f["openid"] for f in state["oa_followers"] if f["nickname"] == "老周")
        now = SystemClock().now()
        async with stack.sessions() as session, session.begin():
            session.add(Customer(oa_openid=openid, name="老周", first_seen_at=now))
        document = {
            "name": "双十二模板",
            "kind": "broadcast",
            "filter": {"not": {"opted_out": True}},
            "path": "oa_template",
            "message": "双十二模板消息",
            "at": "now",
            "guards": {"quiet_hours": False},
            "oa_template": {"template_id": "qunke_demo_activity", "data": {"thing1": "{{ name }}的双十二专享"}},
        }
        policy = campaign_policy(bot_settings(stack.database_url, stack.sandbox_url))
        async with stack.sessions() as session, session.begin():
            await manage.create_campaign(session, document, now, policy)
        await runs.tick(stack.sessions, SystemClock().now(), policy)

        async def delivered() -> list[dict[str, Any]]:
            return [e for e in await stack.sandbox_log() if e["kind"] == "oa_template" and e["touser"] == openid]

        (entry,) = await eventually(delivered, timeout=20)
        assert entry["text"] == "thing1: 老周的双十二专享" and entry["template_id"] == "qunke_demo_activity"
