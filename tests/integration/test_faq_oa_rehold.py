"""A reopened OA hand-off ticket holds the follower again, over real HTTP against the sandbox: the bot answers once
the ticket is solved, and stops again (the holder hears instead) once it is reopened, however the reopening comes;
and the OA's other ticket paths those reopenings ride on (a CSAT answer, a complaint's acknowledgement) reach the
follower."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.config.settings import ServiceSettings
from storage.models.faq import OaPersonHold
from tests.integration.test_cli import qunke
from tests.integration.test_faq import ANSWERS, eventually, logged
from tests.integration.test_faq_oa_menus import ON_DUTY, a_follower
from tests.integration.test_faq_oa_person import (
    CONFIDENT,
    HELD_TITLE,
    MovableClock,
    hand_off,
    live_hold,
    profile,
    say_while_held,
    timeline_kinds,
)
from tests.support.stack import Stack, running_stack


async def stack_with_sweep(database_url: str, tick_s: int) -> AsyncIterator[Stack]:
    update = {"service": ServiceSettings(on_duty=(ON_DUTY,), tick_s=tick_s)}
    async with running_stack(database_url, settings_update=update, clock=MovableClock()) as stack:
        yield stack


@pytest.fixture
async def swept(database_url: str) -> AsyncIterator[Stack]:
    """The release sweep (which also holds again) runs every second."""
    async for stack in stack_with_sweep(database_url, 1):
        yield stack


@pytest.fixture
async def unswept(database_url: str) -> AsyncIterator[Stack]:
    """The sweep runs once an hour: only the follower's own message can notice a reopening."""
    async for stack in stack_with_sweep(database_url, 3600):
        yield stack


async def ticket(stack: Stack, *args: str) -> str:
    done = await qunke("ticket", *args, env={"QUNKE_DATABASE_URL": stack.database_url})
    assert done.returncode == 0, done.stderr
    return done.stdout


async def solved_and_answered(stack: Stack, openid: str) -> OaPersonHold:
    """Hand off, solve the ticket, and see the bot answer the follower again."""
    hold = await hand_off(stack, openid)
    await ticket(stack, "solve", f"T{hold.ticket_id}")
    await stack.act("oa-say", openid=openid, text=CONFIDENT)
    await eventually(logged(stack, "oa_send", ANSWERS["return_policy"], touser=openid))
    assert await live_hold(stack, openid) is None
    return hold


async def holds_of(stack: Stack, ticket_id: int | None) -> int:
    async with stack.sessions() as session:
        stmt = select(func.count()).select_from(OaPersonHold).where(OaPersonHold.ticket_id == ticket_id)
        return int(await session.scalar(stmt) or 0)


async def test_a_follower_is_held_again_and_the_holder_alerted_when_the_hand_off_ticket_is_reopened(
    swept: Stack,
) -> None:
    stack = swept
    openid = await a_follower(stack)
    first = await solved_and_answered(stack, openid)
    sent = len(await logged(stack, "oa_send", touser=openid)())

    assert "已重新打开" in await ticket(stack, "reopen", f"T{first.ticket_id}")
    again = await eventually(lambda: live_hold(stack, openid))  # the sweep holds them without waiting for a message
    assert (again.ticket_id, again.rep, again.id != first.id) == (first.ticket_id, ON_DUTY, True)
    assert first.customer_id is not None
    shown = await profile(stack, first.customer_id)
    assert timeline_kinds(shown) == ["oa_with_person", "oa_person_released", "oa_with_person"]
    assert shown["oa_with_person"]["ticket_id"] == first.ticket_id
    assert any("工单重新打开" in i["text"] for i in shown["timeline"] if i["kind"] == "oa_with_person")

    await say_while_held(stack, openid, CONFIDENT)
    assert len(await logged(stack, "oa_send", touser=openid)()) == sent  # no FAQ answer this time
    [alert] = await eventually(logged(stack, "app_message", HELD_TITLE))
    said = json.dumps(alert, ensure_ascii=False)
    assert ON_DUTY in said and CONFIDENT in said

    refused = await qunke("ticket", "reopen", f"T{first.ticket_id}", env={"QUNKE_DATABASE_URL": stack.database_url})
    assert refused.returncode == 1 and "不能重新打开" in refused.stderr  # open already: nothing changes
    await stack.settle()
    assert await holds_of(stack, first.ticket_id) == 2


async def test_a_follower_is_held_again_on_their_next_message_when_the_ticket_reopened_before_any_sweep(
    unswept: Stack,
) -> None:
    stack = unswept
    openid = await a_follower(stack)
    first = await solved_and_answered(stack, openid)
    sent = len(await logged(stack, "oa_send", touser=openid)())
    await ticket(stack, "close", f"T{first.ticket_id}")
    await ticket(stack, "reopen", f"T{first.ticket_id}")

    await stack.act("oa-say", openid=openid, text=CONFIDENT)
    await eventually(logged(stack, "app_message", HELD_TITLE))
    again = await live_hold(stack, openid)
    assert again is not None and (again.ticket_id, again.held_messages) == (first.ticket_id, 1)
    assert len(await logged(stack, "oa_send", touser=openid)()) == sent


async def test_a_follower_is_held_again_when_their_low_score_reopens_the_hand_off_ticket(swept: Stack) -> None:
    """The reopening the customer causes: the CSAT asked on the OA when the ticket was solved, answered with a 1."""
    stack = swept
    openid = await a_follower(stack)
    first = await hand_off(stack, openid)
    assert "发送满意度评价" in await ticket(stack, "solve", f"T{first.ticket_id}")
    await eventually(logged(stack, "oa_send", "请为本次服务打分", touser=openid))
    await eventually(lambda: no_hold(stack, openid))  # the sweep released it

    await stack.act("oa-say", openid=openid, text="1分")
    again = await eventually(lambda: live_hold(stack, openid))
    assert again.ticket_id == first.ticket_id
    await eventually(logged(stack, "oa_send", "很抱歉没有让您满意", touser=openid))  # the survey's reply, no FAQ answer
    sent = len(await logged(stack, "oa_send", touser=openid)())
    await say_while_held(stack, openid, CONFIDENT)
    await eventually(logged(stack, "app_message", HELD_TITLE))
    await stack.settle()
    said = [e["payload"] for e in await logged(stack, "oa_send", touser=openid)()]
    assert len(said) == sent, said


async def no_hold(stack: Stack, openid: str) -> bool:
    return await live_hold(stack, openid) is None


async def test_a_complaint_on_the_oa_is_acknowledged_to_the_follower_when_it_opens_a_ticket(swept: Stack) -> None:
    """The acknowledgement goes to the follower's openid (it went to their chat id, "oa:<openid>", before)."""
    stack = swept
    openid = await a_follower(stack)
    await stack.act("oa-say", openid=openid, text="我要投诉，你们太让人失望了")
    await eventually(logged(stack, "oa_send", "我们已登记您的问题", touser=openid))
