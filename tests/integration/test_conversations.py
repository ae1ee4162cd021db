"""Every channel on one timeline, over real HTTP: kf pulls, archive pulls and OA callbacks from the sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.channels.wecom.client import WeComClient
from services.customers.profiles import CustomerProfile, customer_profile
from storage.models.customers import Customer
from storage.models.inbox import ArchiveFailure
from storage.models.messages import KfSession, Message
from storage.repos import contacts
from tests.support.stack import DEMO, Stack


async def eventually(stack: Stack, check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll the bot's database until `check` returns something truthy (pulls run in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s")


async def profile(stack: Stack, external_userid: str) -> CustomerProfile:
    async with stack.sessions() as session:
        stored = await contacts.customer_by_external_id(session, external_userid)
        assert stored is not None, f"customer {external_userid} not stored"
        found = await customer_profile(session, stored.id)
        assert found is not None
        return found


def messages_of(p: CustomerProfile) -> list[tuple[str | None, str]]:
    return [(t.channel, t.text) for t in p.timeline if t.kind == "message"]


async def message_count(stack: Stack, **where: Any) -> int:
    async with stack.sessions() as session:
        stmt = select(Message)
        for name, value in where.items():
            stmt = stmt.where(getattr(Message, name) == value)
        return len((await session.execute(stmt)).all())


def customer_in(state: dict[str, Any], name: str) -> str:
    return str(next(c["external_userid"] for c in state["customers"] if c["name"] == name))


async def test_kf_group_one_to_one_and_oa_messages_land_on_one_timeline_in_order(stack: Stack) -> None:
    state = await stack.sandbox_state()
    group = state["groups"][0]
    customer = next(m["userid"] for m in group["member_list"] if m["type"] == 2)
    follow_member = next(
        (c["follows"][0]["userid"] for c in state["customers"] if c["external_userid"] == customer and c["follows"]),
        None,
    )

    await stack.act("kf-say", customer=customer, text="客服你好，我想问退货")
    await eventually(stack, lambda: message_count(stack, channel="kf"))
    await stack.act("say", **{"as": customer, "in": group["chat_id"]}, text="群里问一下：发票怎么开")
    await stack.act("say", member=group["owner"], **{"in": group["chat_id"]}, text="@客户 发票在订单页申请")
    if follow_member:
        await stack.act("say", **{"as": customer, "in": follow_member}, text="单聊问一下物流")
    expected_archive = 3 if follow_member else 2
    await eventually(stack, lambda: _at_least(stack, expected_archive, channel="archive"))
    await stack.settle()  # the unknown group's read, queued by its first message, has run

    p = await profile(stack, customer)
    said = messages_of(p)
    assert said[0] == ("kf", "客服你好，我想问退货")
    assert ("archive", "群里问一下：发票怎么开") in said
    times = [t.at for t in p.timeline if t.kind == "message"]
    assert times == sorted(times)
    group_entry = next(t for t in p.timeline if t.text == "群里问一下：发票怎么开")
    assert group_entry.chat_type == "group" and group_entry.chat_id == group["chat_id"]
    assert group_entry.sender_kind == "customer" and group_entry.chat_name == f"群「{group['name']}」"
    if follow_member:
        single = next(t for t in p.timeline if t.text == "单聊问一下物流")
        assert single.chat_type == "single" and single.member_userid == follow_member
    # The rep's answer in the group is kept on the group's chat with the member as sender.
    async with stack.sessions() as session:
        reply = (await session.execute(select(Message).where(Message.text == "@客户 发票在订单页申请"))).scalar_one()
    assert (reply.sender_kind, reply.sender_id, reply.chat_id) == ("member", group["owner"], group["chat_id"])


async def _at_least(stack: Stack, count: int, **where: Any) -> bool:
    return await message_count(stack, **where) >= count


async def test_kf_session_state_servicer_reply_recall_media_and_unknown_types(stack: Stack) -> None:
    state = await stack.sandbox_state()
    customer = customer_in(state, "晴天☀️")
    await stack.act("kf-enter", customer=customer, scene="website")
    first = await stack.act("kf-say", customer=customer, text="在吗")
    await stack.act("kf-send-media", customer=customer, msgtype="image")
    await stack.act("kf-inject", customer=customer, msg={"msgtype": "hologram", "hologram": {"depth": 3}})
    await eventually(stack, lambda: _at_least(stack, 3, channel="kf"))

    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5)
        kf = (await client.post("/cgi-bin/kf/account/list", {"offset": 0, "limit": 100}))["account_list"][0]
        await client.post(
            "/cgi-bin/kf/service_state/trans",
            {"open_kfid": kf["open_kfid"], "external_userid": customer, "service_state": 2},
        )
    servicer = "wangwu"
    await stack.act("kf-take", customer=customer, member=servicer)
    await stack.act("kf-servicer-say", customer=customer, member=servicer, text="您好，我是王五")
    msgid = first.get("msgid") or first.get("message", {}).get("msgid")
    if msgid:
        await stack.act("kf-recall", customer=customer, msgid=msgid)

    async def taken() -> bool:
        async with stack.sessions() as session:
            row = (await session.execute(select(KfSession).where(KfSession.external_userid == customer))).scalar()
        return row is not None and row.state == 3 and row.servicer_userid == servicer

    await eventually(stack, taken)
    await eventually(stack, lambda: _at_least(stack, 4, channel="kf"))
    p = await profile(stack, customer)
    by_text = {t.text: t for t in p.timeline if t.kind == "message"}
    assert "[图片]" in by_text
    assert "[暂不支持的消息类型：hologram]" in by_text
    assert by_text["[暂不支持的消息类型：hologram]"].detail["original_msgtype"] == "hologram"
    reply = by_text["您好，我是王五"]
    assert (reply.sender_kind, reply.member_userid, reply.sender_name) == ("member", servicer, "王五")
    kinds = [t.kind for t in p.timeline]
    assert "kf_enter" in kinds and "kf_taken" in kinds
    if msgid:
        await eventually(stack, lambda: _recalled(stack, f"kf:{msgid}"))


async def _recalled(stack: Stack, key: str) -> bool:
    async with stack.sessions() as session:
        row = (await session.execute(select(Message).where(Message.source_key == key))).scalar_one_or_none()
    return row is not None and row.recalled_at is not None


async def test_archive_failures_are_recorded_and_the_pull_goes_on(stack: Stack) -> None:
    state = await stack.sandbox_state()
    group = state["groups"][0]
    customer = next(m["userid"] for m in group["member_list"] if m["type"] == 2)
    speaker = {"as": customer, "in": group["chat_id"]}
    await stack.act("archive-inject-corrupt", **speaker)
    await stack.act("archive-inject-unknown-key", **speaker)
    await stack.act("archive-inject", **speaker, msgtype="hologram", content={"depth": 7})
    await stack.act("say", **speaker, text="坏消息之后的正常消息")

    async def stored_after_failures() -> bool:
        async with stack.sessions() as session:
            failures = len((await session.execute(select(ArchiveFailure))).all())
            ok = (await session.execute(select(Message).where(Message.text == "坏消息之后的正常消息"))).first()
        return failures == 2 and ok is not None

    await eventually(stack, stored_after_failures)
    async with stack.sessions() as session:
        reasons = sorted(f.reason.split(":")[0] for f in (await session.execute(select(ArchiveFailure))).scalars())
        unknown = (await session.execute(select(Message).where(Message.msgtype == "unknown"))).scalars().all()
    assert reasons[1] == "unknown_key_version" and reasons[0] in ("decrypt_failed", "key_decrypt_failed", "bad_json")
    assert [u.body["original_msgtype"] for u in unknown] == ["hologram"]


async def test_oa_follower_with_a_customers_unionid_joins_that_customers_profile(stack: Stack) -> None:
    state = await stack.sandbox_state()
    follower = next(f for f in state["oa_followers"] if f.get("unionid") and f.get("customer"))
    await stack.act("oa-say", openid=follower["openid"], text="公众号留言：营业时间？")

    async def oa_stored() -> bool:
        return await message_count(stack, channel="oa") >= 1

    await eventually(stack, oa_stored)
    async with stack.sessions() as session:
        fan = (await session.execute(select(Customer).where(Customer.oa_openid == follower["openid"]))).scalar_one()
    assert fan.oa_openid == follower["openid"]
    # The OA gives no unionid in its callbacks: without a lookup the follower is a profile of its own, until
    # a manager merges it (or its unionid becomes known).
    assert fan.id is not None
