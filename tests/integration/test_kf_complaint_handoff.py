"""A kf customer who complains is handed to a person at once, not left in silence while a ticket is filed."""

from __future__ import annotations

from tests.integration.test_faq import eventually, logged
from tests.integration.test_kf_handoff import service_state, stack_with


async def test_the_complaining_customer_hears_a_person_is_coming_when_they_complain_in_kf(database_url: str) -> None:
    async with stack_with(database_url, on_duty=("wangwu",)) as stack:
        said = await stack.act("kf-say", customer="new", text="你们的课太差了，我要投诉，老师一直不回消息")
        kfid, customer = said["open_kfid"], said["external_userid"]
        await eventually(logged(stack, "kf_send", "正在为您转接人工客服", touser=customer))
        assert await service_state(stack, kfid, customer) == (3, "wangwu")
        await eventually(logged(stack, "app_message", "客户投诉"))
