"""The OA's "with a person" state over real HTTP against the sandbox: a follower handed to a person gets nothing from
the FAQ while every message is stored, the rep hears of new messages at most once per repeat window, the hold ends
when the hand-off ticket is solved or the follower goes quiet (on the timeline and profile), and repeated misses hand
an OA follower over by the same rule as kf."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import xmltodict
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from bot.config.settings import ServiceSettings
from storage.models.faq import OaPersonHold
from storage.models.messages import Message
from storage.models.service import ChatWait
from tests.integration.test_cli import qunke
from tests.integration.test_faq import ANSWERS, decided, eventually, logged
from tests.integration.test_faq_menus import SUGGEST_BAND
from tests.integration.test_faq_oa_menus import ON_DUTY, a_follower, metrics
from tests.support.stack import DEMO, Stack, running_stack

CONFIDENT = "退货流程是什么"  # answered confidently from kb/example.yaml (return_policy)
MISSES = ("你们老板叫什么名字？", "你们的猫叫什么？", "公司楼下有停车场吗？")  # in-scope-looking, silent
NOTICE = "同事会尽快在这里回复您"
HANDOFF_TITLE = "公众号客户转人工"
HELD_TITLE = "公众号转人工客户的新消息"


class MovableClock:
    """The system clock, moved forward when the test says: the bot reads it for every decision and job."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class HeldStack:
    stack: Stack
    clock: MovableClock


@pytest.fixture
async def held(database_url: str) -> AsyncIterator[HeldStack]:
    clock = MovableClock()
    update = {"service": ServiceSettings(on_duty=(ON_DUTY,), tick_s=1)}  # the release sweep runs every second
    async with running_stack(database_url, settings_update=update, clock=clock) as stack:
        yield HeldStack(stack, clock)


async def hand_off(stack: Stack, openid: str) -> OaPersonHold:
    await stack.act("oa-say", openid=openid, text="转人工")
    await eventually(logged(stack, "oa_send", NOTICE, touser=openid, msgtype="text"))
    return await eventually(lambda: live_hold(stack, openid))


async def live_hold(stack: Stack, openid: str) -> OaPersonHold | None:
    async with stack.sessions() as session:
        stmt = select(OaPersonHold).where(OaPersonHold.openid == openid, OaPersonHold.released_at.is_(None))
        return (await session.execute(stmt)).scalar_one_or_none()


async def say_while_held(stack: Stack, openid: str, text: str) -> Message:
    """The follower writes; returns once the bot has seen it as a held message (the hold noted it)."""
    await stack.act("oa-say", openid=openid, text=text)

    async def noted() -> Message | None:
        async with stack.sessions() as session:
            stmt = select(Message).where(Message.sender_id == openid, Message.text == text)
            message = (await session.execute(stmt.order_by(Message.id.desc()).limit(1))).scalar_one_or_none()
            hold = await live_hold(stack, openid)
        seen = message is not None and hold is not None and hold.last_message_at >= message.sent_at
        return message if seen else None

    message = await eventually(noted)
    await stack.settle()
    return message


async def profile(stack: Stack, customer_id: int) -> dict[str, Any]:
    env = {"QUNKE_DATABASE_URL": stack.database_url}
    shown = await qunke("customer", "show", str(customer_id), "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    data: dict[str, Any] = json.loads(shown.stdout)
    return data


def timeline_kinds(shown: dict[str, Any]) -> list[str]:
    return [item["kind"] for item in shown["timeline"] if item["kind"].startswith("oa_")]


async def test_a_follower_with_a_person_gets_no_answer_menu_or_greeting_while_every_message_is_stored_when_held(
    held: HeldStack,
) -> None:
    stack = held.stack
    openid = await a_follower(stack)
    hold = await hand_off(stack, openid)
    assert (hold.rep, hold.ticket_id is not None, hold.customer_id is not None) == (ON_DUTY, True, True)
    for text in (CONFIDENT, SUGGEST_BAND, "你好"):
        await say_while_held(stack, openid, text)
    assert [e["msgtype"] for e in await logged(stack, "oa_send", touser=openid)()] == ["text"]  # the notice only
    assert await decided(stack, CONFIDENT) is None
    async with stack.sessions() as session:
        stored = (await session.execute(select(Message.text).where(Message.sender_id == openid))).scalars().all()
        waits = (await session.execute(select(ChatWait).where(ChatWait.customer_id == hold.customer_id))).all()
    assert {"转人工", CONFIDENT, SUGGEST_BAND, "你好"} <= set(stored)
    assert waits  # the question waits for a person like any customer's

    assert hold.customer_id is not None
    shown = await profile(stack, hold.customer_id)
    person = shown["oa_with_person"]
    assert (person["rep"], person["ticket_id"], person["messages"]) == (ON_DUTY, hold.ticket_id, 3)
    assert timeline_kinds(shown) == ["oa_with_person"]
    [entry] = [i for i in shown["timeline"] if i["kind"] == "oa_with_person"]
    assert "公众号会话转人工" in entry["text"] and f"T{hold.ticket_id}" in entry["text"]


async def test_the_rep_hears_of_a_held_followers_messages_at_most_once_per_repeat_window_when_held(
    held: HeldStack,
) -> None:
    stack = held.stack
    openid = await a_follower(stack)
    await hand_off(stack, openid)
    await say_while_held(stack, openid, "在吗？我的订单怎么还没到")  # within 30 minutes of the hand-off alert
    assert not await logged(stack, "app_message", HELD_TITLE)()

    held.clock.offset = timedelta(minutes=31)
    await say_while_held(stack, openid, "还有人吗？订单号 12345")
    [alert] = await eventually(logged(stack, "app_message", HELD_TITLE))
    said = json.dumps(alert, ensure_ascii=False)
    assert ON_DUTY in said and "订单号 12345" in said  # the last lines of the conversation
    await say_while_held(stack, openid, "急！")
    assert len(await logged(stack, "app_message", HELD_TITLE)()) == 1
    assert len(await logged(stack, "app_message", HANDOFF_TITLE)()) == 1
    assert len(await logged(stack, "oa_send", touser=openid)()) == 1


async def test_a_held_follower_is_answered_again_when_the_hand_off_ticket_is_solved(held: HeldStack) -> None:
    stack = held.stack
    openid = await a_follower(stack)
    hold = await hand_off(stack, openid)
    await say_while_held(stack, openid, CONFIDENT)
    env = {"QUNKE_DATABASE_URL": stack.database_url}
    solved = await qunke("ticket", "solve", f"T{hold.ticket_id}", env=env)
    assert solved.returncode == 0, solved.stderr

    await stack.act("oa-say", openid=openid, text=CONFIDENT)
    await eventually(logged(stack, "oa_send", ANSWERS["return_policy"], touser=openid))
    assert await live_hold(stack, openid) is None
    assert hold.customer_id is not None
    shown = await profile(stack, hold.customer_id)
    assert shown["oa_with_person"] is None
    assert timeline_kinds(shown) == ["oa_with_person", "oa_person_released"]
    assert any("公众号人工服务结束" in i["text"] and "已解决" in i["text"] for i in shown["timeline"])


async def test_a_held_follower_is_released_and_answered_again_when_quiet_past_the_release_hours(
    held: HeldStack,
) -> None:
    stack = held.stack
    openid = await a_follower(stack)
    hold = await hand_off(stack, openid)
    held.clock.offset = timedelta(hours=25)  # faq.oa_handoff_release_hours is 24

    async def released() -> OaPersonHold | None:
        async with stack.sessions() as session:
            row = await session.get(OaPersonHold, hold.id)
        return row if row is not None and row.released_at is not None else None

    done = await eventually(released)  # the sweep releases it without waiting for a message
    assert done.release_reason == "idle" and done.released_at == done.last_message_at + timedelta(hours=24)
    assert hold.customer_id is not None
    shown = await profile(stack, hold.customer_id)
    assert shown["oa_with_person"] is None and timeline_kinds(shown) == ["oa_with_person", "oa_person_released"]
    assert any("客户长时间没有新消息" in i["text"] for i in shown["timeline"])

    await stack.act("oa-say", openid=openid, text=CONFIDENT)
    await eventually(logged(stack, "oa_send", ANSWERS["return_policy"], touser=openid))


async def test_repeated_misses_hand_an_oa_follower_to_a_person_when_handoff_after_misses_is_reached(
    held: HeldStack,
) -> None:
    """faq.handoff_after_misses (3), kf's rule: the third question in a row not answered confidently hands off."""
    stack = held.stack
    openid = await a_follower(stack)
    for text in MISSES[:2]:
        await stack.act("oa-say", openid=openid, text=text)
        reply = await eventually(lambda text=text: decided(stack, text))  # type: ignore[misc]
        assert reply.decision == "silent"
    await stack.act("oa-say", openid=openid, text=MISSES[2])
    reply = await eventually(lambda: decided(stack, MISSES[2]))
    assert (reply.decision, reply.member_userid) == ("handoff", ON_DUTY)
    await eventually(logged(stack, "oa_send", NOTICE, touser=openid, msgtype="text"))
    [alert] = await eventually(logged(stack, "app_message", HANDOFF_TITLE))
    assert "连续 3 个问题未能自动解答" in json.dumps(alert, ensure_ascii=False)
    assert 'qunke_oa_handoffs_total{outcome="rep"} 1.0' in await metrics(stack)

    await say_while_held(stack, openid, CONFIDENT)  # now with a person: the FAQ stays out
    assert len(await logged(stack, "oa_send", touser=openid)()) == 1


async def test_an_image_from_a_held_follower_counts_and_reaches_the_rep_when_the_window_has_passed(
    held: HeldStack,
) -> None:
    """The sandbox's followers only type text: the image is pushed to /wechat/callback as WeChat would push it."""
    stack = held.stack
    openid = await a_follower(stack)
    hold = await hand_off(stack, openid)
    held.clock.offset = timedelta(minutes=31)
    image = (
        f"<xml><ToUserName><![CDATA[gh_qunkedemo01]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        "<PicUrl><![CDATA[http://127.0.0.1:9/receipt.jpg]]></PicUrl><MediaId><![CDATA[media-receipt]]></MediaId>"
        "<MsgId>990001</MsgId></xml>"
    )
    query, body = signed_oa_post(image)
    async with stack.http.post(f"{stack.bot_url}/wechat/callback", params=query, data=body.encode()) as resp:
        assert resp.status == 200, await resp.text()

    async def counted() -> OaPersonHold | None:
        async with stack.sessions() as session:
            row = await session.get(OaPersonHold, hold.id)
        return row if row is not None and row.held_messages == 1 else None

    await eventually(counted)
    [alert] = await eventually(logged(stack, "app_message", HELD_TITLE))
    assert "[image]" in json.dumps(alert, ensure_ascii=False)  # the conversation's last line


def signed_oa_post(plaintext: str) -> tuple[dict[str, str], str]:
    """Query and body as WeChat sends them in safe mode to the demo Official Account (wechatpy's own crypto)."""
    oa = DEMO.oa
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    encrypted = xmltodict.parse(
        WeChatCrypto(oa.token, oa.aes_key, oa.app_id).encrypt_message(plaintext, nonce, timestamp)
    )
    fields = encrypted["xml"]
    signature = hashlib.sha1("".join(sorted([oa.token, timestamp, nonce])).encode()).hexdigest()
    query = {
        "signature": signature,
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": "o",
        "encrypt_type": "aes",
        "msg_signature": fields["MsgSignature"],
    }
    return query, f"<xml><Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>"
