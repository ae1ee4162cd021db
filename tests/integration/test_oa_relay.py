"""A rep answers an OA follower from the app ("回复 T12 …") over real HTTP against the sandbox: the words reach the
follower by custom/send, stand on the timeline as the rep's, answer the chat's wait and take the ticket; a colleague
who does not hold the ticket, a closed window and a refusal by WeChat each come back to the rep in Chinese."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from storage.models.messages import Message
from storage.models.service import ChatWait
from storage.models.tickets import Ticket, TicketEvent
from tests.integration.test_faq import eventually, logged
from tests.integration.test_faq_oa_menus import ON_DUTY, a_follower
from tests.integration.test_faq_oa_person import HeldStack, hand_off, held, say_while_held
from tests.support.stack import Stack

__all__ = ["held"]  # the fixture, shared with the "with a person" tests

COLLEAGUE = "lisi"  # a member who neither holds the ticket nor manages


async def rep_says(stack: Stack, member: str, text: str) -> None:
    await stack.act("member-app-say", member=member, text=text)


async def told(stack: Stack, member: str, contains: str) -> str:
    """The app message `member` got that contains `contains`, as its text."""
    found = await eventually(logged(stack, "app_message", contains))
    said = [json.dumps(e, ensure_ascii=False) for e in found]
    mine = [s for s in said if member in s]
    assert mine, said
    return mine[-1]


async def relayed(stack: Stack, openid: str, words: str) -> list[dict[str, Any]]:
    return await logged(stack, "oa_send", words, touser=openid, msgtype="text")()


async def test_the_reps_reply_reaches_the_follower_and_is_theirs_on_the_timeline(held: HeldStack) -> None:
    stack = held.stack
    openid = await a_follower(stack)
    hold = await hand_off(stack, openid)
    await say_while_held(stack, openid, "请问我的发票什么时候能开？")
    [alert] = await eventually(logged(stack, "app_message", "公众号客户转人工"))
    assert f"回复 T{hold.ticket_id} 您要说的话" in json.dumps(alert, ensure_ascii=False)

    words = "您好，发票已经开好，稍后发到您的邮箱。"
    await rep_says(stack, ON_DUTY, f"回复 T{hold.ticket_id} {words}")
    [sent] = await eventually(lambda: relayed(stack, openid, words))
    assert sent["payload"]["text"]["content"] == words  # the rep's words as written, nothing added
    answer = await told(stack, ON_DUTY, "已通过公众号把你的回复发给")
    # The question reopened the window (5 sends); the hand-off notice counts too when it was still in flight.
    assert f"T{hold.ticket_id}" in answer and re.search("还可回复 [34] 条", answer), answer

    async def on_timeline() -> Message | None:
        async with stack.sessions() as session:
            stmt = select(Message).where(Message.text == words, Message.chat_id == f"oa:{openid}")
            return (await session.execute(stmt)).scalar_one_or_none()

    stored = await eventually(on_timeline)
    assert (stored.sender_kind, stored.sender_id, stored.member_userid) == ("member", ON_DUTY, ON_DUTY)
    assert stored.customer_id == hold.customer_id
    async with stack.sessions() as session:
        waits = (await session.execute(select(ChatWait).where(ChatWait.chat_id == f"oa:{openid}"))).scalars().all()
        ticket = await session.get(Ticket, hold.ticket_id)
        events = (
            (await session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == hold.ticket_id)))
            .scalars()
            .all()
        )
    assert waits and all(w.answered_by == ON_DUTY for w in waits), [(w.status, w.answered_by) for w in waits]
    assert ticket is not None and ticket.assignee_userid == ON_DUTY and ticket.first_responded_at is not None
    assert "replied" in events

    # The same command delivered again (WeCom retries) sends nothing twice.
    await stack.settle()
    assert len(await relayed(stack, openid, words)) == 1


async def test_a_colleague_without_the_ticket_is_refused_and_nothing_is_sent(held: HeldStack) -> None:
    stack = held.stack
    openid = await a_follower(stack)
    hold = await hand_off(stack, openid)
    await rep_says(stack, COLLEAGUE, f"回复 T{hold.ticket_id} 我来回答一下")
    answer = await told(stack, COLLEAGUE, "不是你的")
    assert f"认领 T{hold.ticket_id}" in answer
    await stack.settle()
    assert not await relayed(stack, openid, "我来回答一下")


async def test_a_closed_window_is_explained_before_anything_is_queued(held: HeldStack) -> None:
    stack = held.stack
    openid = await a_follower(stack)
    hold = await hand_off(stack, openid)
    held.clock.offset = timedelta(hours=49)  # the follower's last message is older than the OA's 48 h
    await rep_says(stack, ON_DUTY, f"回复 T{hold.ticket_id} 抱歉久等了")
    answer = await told(stack, ON_DUTY, "没有发出")
    assert "48 小时" in answer
    await stack.settle()
    assert not await relayed(stack, openid, "抱歉久等了")


async def test_a_reply_wechat_refuses_comes_back_to_the_rep(held: HeldStack) -> None:
    """Qunke's own count still sees room, but WeChat's clock is past the window: custom/send answers 45015."""
    stack = held.stack
    openid = await a_follower(stack)
    hold = await hand_off(stack, openid)
    async with stack.http.post(f"{stack.sandbox_url}/sandbox/clock/advance", json={"seconds": 49 * 3600}) as resp:
        assert resp.status == 200, await resp.text()
    await rep_says(stack, ON_DUTY, f"回复 T{hold.ticket_id} 抱歉久等了")
    await told(stack, ON_DUTY, "已通过公众号把你的回复发给")  # queued: Qunke's window is open
    answer = await told(stack, ON_DUTY, "你对工单")
    assert f"T{hold.ticket_id}" in answer and "没有发出" in answer and "48 小时" in answer and "抱歉久等了" in answer
    assert not await relayed(stack, openid, "抱歉久等了")


async def test_usage_and_tickets_answered_elsewhere(held: HeldStack) -> None:
    stack = held.stack
    await rep_says(stack, ON_DUTY, "回复 一下客户")
    assert "回复 T123" in await told(stack, ON_DUTY, "请这样回复公众号客户")
    await rep_says(stack, ON_DUTY, "回复 T99999 您好")
    assert "T99999" in await told(stack, ON_DUTY, "没有找到工单")
