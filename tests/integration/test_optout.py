"""Opt-out in the running bot over real HTTP: "退订" in kf is confirmed to the customer, recorded on the timeline and
keeps them out of campaigns; "订阅" restores; the FAQ does not treat either as a question."""

from __future__ import annotations

from sqlalchemy import select

from storage.models.campaigns import ContactPref
from storage.models.customers import Customer, CustomerEvent
from storage.models.faq import FaqReply
from tests.integration.test_faq import eventually, logged
from tests.support.stack import Stack


async def _pref(stack: Stack, external_userid: str) -> ContactPref | None:
    async with stack.sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.external_userid == external_userid))
        if customer is None:
            return None
        return await session.get(ContactPref, customer.id)


async def test_optout_is_confirmed_and_recorded_when_a_kf_customer_says_tuiding(stack: Stack) -> None:
    said = await stack.act("kf-say", customer="new", text="退订")
    customer = said["external_userid"]
    await eventually(logged(stack, "kf_send", "已为您退订营销消息", touser=customer))
    pref = await eventually(lambda: _pref(stack, customer))
    assert pref.opted_out_at is not None and pref.source == "kf"

    await stack.act("kf-say", customer=customer, text="订阅")
    await eventually(logged(stack, "kf_send", "已为您恢复订阅", touser=customer))

    async def restored() -> ContactPref | None:
        found = await _pref(stack, customer)
        return found if found is not None and found.opted_out_at is None else None

    await eventually(restored)
    async with stack.sessions() as session:
        kinds = list(await session.scalars(select(CustomerEvent.kind).order_by(CustomerEvent.id)))
        faq_rows = list(await session.scalars(select(FaqReply)))
    assert kinds[-2:] == ["opted_out", "opted_in"]
    assert faq_rows == []  # neither word reached the FAQ as a question


async def test_an_oa_follower_who_asks_in_words_to_stop_ads_is_opted_out_and_told(stack: Stack) -> None:
    follower = (await stack.sandbox_state())["oa_followers"][0]
    await stack.act("oa-say", openid=follower["openid"], text="以后别给我发广告了，谢谢")
    await eventually(logged(stack, "oa_send", "已为您退订营销消息", touser=follower["openid"]))

    async def opted_out() -> list[ContactPref]:
        async with stack.sessions() as session:
            return [p for p in await session.scalars(select(ContactPref)) if p.opted_out_at is not None]

    [pref] = await eventually(opted_out)
    assert pref.source == "oa"
    await stack.settle()
    async with stack.sessions() as session:
        assert list(await session.scalars(select(FaqReply))) == []  # a request, not a question for the KB
