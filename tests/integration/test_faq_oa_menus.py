"""The FAQ's menus on the Official Account over real HTTP against the sandbox: "did you mean" as an OA msgmenu, a tap
(text carrying bizmsgmenuid) that answers and teaches, "都不是" that goes to a person, one greeting per 48 h window,
and nothing sent to a follower whose window has closed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.config.settings import SenderSettings, ServiceSettings
from services.clock import OffsetClock
from services.faq.menus import NONE_ID, item_id
from storage.models.faq import UnansweredQuestion
from storage.models.messages import Message
from tests.integration.test_cli import qunke
from tests.integration.test_faq import ANSWERS, decided, eventually, logged
from tests.integration.test_faq_menus import SUGGEST_BAND
from tests.support.stack import Stack, running_stack

ON_DUTY = "wangwu"


@pytest.fixture
async def oa_stack(database_url: str) -> AsyncIterator[Stack]:
    update = {"service": ServiceSettings(on_duty=(ON_DUTY,))}
    async with running_stack(database_url, settings_update=update) as stack:
        yield stack


async def a_follower(stack: Stack) -> str:
    """A demo follower who followed long ago (a follow opens the OA's 3-in-1-minute window, not the message one)."""
    return str((await stack.sandbox_state())["oa_followers"][0]["openid"])


async def oa_menu_sent(stack: Stack, openid: str, head: str) -> dict[str, Any]:
    found = await eventually(logged(stack, "oa_send", head, touser=openid, msgtype="msgmenu"))
    assert len(found) == 1, found
    menu: dict[str, Any] = found[0]["payload"]["msgmenu"]
    return menu


def option_ids(menu: dict[str, Any]) -> list[str]:
    return [item["id"] for item in menu["list"]]


async def tap(stack: Stack, openid: str, menu: dict[str, Any], option: str) -> None:
    """What WeChat pushes for a tap: a text of the option's words, carrying the option's id as bizmsgmenuid."""
    [content] = [item["content"] for item in menu["list"] if item["id"] == option]
    await stack.act("oa-say", openid=openid, text=content, menu_id=option)


async def test_an_oa_suggest_band_question_gets_a_msgmenu_of_candidates_and_a_way_to_a_person(
    oa_stack: Stack,
) -> None:
    openid = await a_follower(oa_stack)
    await oa_stack.act("oa-say", openid=openid, text=SUGGEST_BAND)
    menu = await oa_menu_sent(oa_stack, openid, "您是想问")
    assert option_ids(menu)[0] == item_id("course_refund") and option_ids(menu)[-1] == NONE_ID
    assert menu["list"][-1]["content"] == "都不是，转人工" and len(menu["list"]) <= 4
    reply = await eventually(lambda: decided(oa_stack, SUGGEST_BAND))
    assert (reply.decision, reply.entry_id, reply.member_userid) == ("suggested", "course_refund", None)
    assert not await logged(oa_stack, "app_message", ANSWERS["course_refund"])()  # no rep suggestion as well


async def test_an_oa_tap_answers_the_entry_and_leaves_a_pending_variant_when_the_follower_picks_one(
    oa_stack: Stack,
) -> None:
    openid = await a_follower(oa_stack)
    await oa_stack.act("oa-say", openid=openid, text=SUGGEST_BAND)
    menu = await oa_menu_sent(oa_stack, openid, "您是想问")
    await tap(oa_stack, openid, menu, item_id("course_refund"))
    [answer] = await eventually(logged(oa_stack, "oa_send", ANSWERS["course_refund"], touser=openid))
    assert answer["msgtype"] == "text" and "如需人工服务" in answer["payload"]["text"]["content"]

    env = {"QUNKE_DATABASE_URL": oa_stack.database_url}
    listed = await qunke("faq", "unanswered", "--pending", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [pending] = json.loads(listed.stdout)
    assert (pending["entry_id"], pending["text"]) == ("course_refund", SUGGEST_BAND)


async def test_none_of_these_on_the_oa_tells_the_follower_a_colleague_replies_and_alerts_the_rep(
    oa_stack: Stack,
) -> None:
    openid = await a_follower(oa_stack)
    await oa_stack.act("oa-say", openid=openid, text=SUGGEST_BAND)
    menu = await oa_menu_sent(oa_stack, openid, "您是想问")
    await tap(oa_stack, openid, menu, NONE_ID)
    await eventually(logged(oa_stack, "oa_send", "同事会尽快在这里回复您", touser=openid, msgtype="text"))
    [alert] = await eventually(logged(oa_stack, "app_message", "公众号客户转人工"))
    said = json.dumps(alert, ensure_ascii=False)
    assert ON_DUTY in said and "都不是" in said and SUGGEST_BAND in said  # the conversation so far

    async with oa_stack.sessions() as session:
        asked = await session.scalar(select(UnansweredQuestion).where(UnansweredQuestion.text == SUGGEST_BAND))
    assert asked is not None and asked.decision == "menu_declined"  # still unanswered, now a person's
    env = {"QUNKE_DATABASE_URL": oa_stack.database_url}
    assert json.loads((await qunke("faq", "unanswered", "--pending", "--json", env=env)).stdout) == []
    listed = json.loads((await qunke("faq", "unanswered", "--json", env=env)).stdout)
    assert any(group["label"] == SUGGEST_BAND and group["status"] == "open" for group in listed)
    assert 'qunke_oa_handoffs_total{outcome="rep"} 1.0' in await metrics(oa_stack)


async def metrics(stack: Stack) -> str:
    async with stack.http.get(f"{stack.bot_url}/metrics") as resp:
        return await resp.text()


async def test_oa_chitchat_gets_one_greeting_menu_per_window_and_then_silence(oa_stack: Stack) -> None:
    openid = await a_follower(oa_stack)
    await oa_stack.act("oa-say", openid=openid, text="你好")
    greeting = await oa_menu_sent(oa_stack, openid, "大家常问")
    assert option_ids(greeting) == [item_id(entry) for entry in list(ANSWERS)[:5]]
    await oa_stack.act("oa-say", openid=openid, text="在吗")
    await oa_stack.act("oa-say", openid=openid, text="谢谢")
    await eventually(lambda: stored_from(oa_stack, openid, 3))
    await oa_stack.settle()
    await asyncio.sleep(0.5)  # one more sender poll: nothing more is queued, so nothing more may appear
    assert len(await logged(oa_stack, "oa_send", touser=openid)()) == 1

    await tap(oa_stack, openid, greeting, option_ids(greeting)[0])
    answers = await eventually(logged(oa_stack, "oa_send", "如需人工服务", touser=openid, msgtype="text"))
    assert len(answers) == 1


async def stored_from(stack: Stack, openid: str, count: int) -> bool:
    async with stack.sessions() as session:
        return len((await session.execute(select(Message).where(Message.sender_id == openid))).all()) >= count


async def test_nothing_is_sent_to_the_follower_when_their_window_has_closed(database_url: str) -> None:
    """The bot's clock 49 h ahead: every follower message is older than the OA's 48 h window when it is decided."""
    update = {"service": ServiceSettings(on_duty=(ON_DUTY,))}
    async with running_stack(database_url, settings_update=update, clock=OffsetClock(timedelta(hours=49))) as stack:
        openid = await a_follower(stack)
        await stack.act("oa-say", openid=openid, text=SUGGEST_BAND)
        await eventually(logged(stack, "app_message", ANSWERS["course_refund"]))  # a rep suggests instead
        reply = await eventually(lambda: decided(stack, SUGGEST_BAND))
        assert (reply.decision, reply.member_userid) == ("suggested", ON_DUTY)
        await stack.act("oa-say", openid=openid, text="你好")
        await eventually(lambda: stored_from(stack, openid, 2))
        await stack.settle()
        assert not await logged(stack, "oa_send", touser=openid)()


async def test_no_oa_menu_is_sent_when_the_window_cannot_afford_the_answer_after_it(database_url: str) -> None:
    update = {"service": ServiceSettings(on_duty=(ON_DUTY,)), "sender": SenderSettings(oa_message_quota=1)}
    async with running_stack(database_url, settings_update=update) as stack:
        openid = await a_follower(stack)
        await stack.act("oa-say", openid=openid, text=SUGGEST_BAND)
        await eventually(logged(stack, "app_message", ANSWERS["course_refund"]))
        reply = await eventually(lambda: decided(stack, SUGGEST_BAND))
        assert (reply.decision, reply.member_userid) == ("suggested", ON_DUTY)
        await stack.settle()
        assert not await logged(stack, "oa_send", touser=openid)()


async def test_a_follower_who_types_for_a_person_is_told_a_colleague_replies_and_the_rep_hears_once(
    oa_stack: Stack,
) -> None:
    """The OA's answers end with "如需人工服务，请回复“人工”": that reply reaches a person (once per 30 minutes)."""
    openid = await a_follower(oa_stack)
    await oa_stack.act("oa-say", openid=openid, text="转人工")
    await eventually(logged(oa_stack, "oa_send", "同事会尽快在这里回复您", touser=openid, msgtype="text"))
    [alert] = await eventually(logged(oa_stack, "app_message", "公众号客户转人工"))
    assert "客户要求人工服务" in json.dumps(alert, ensure_ascii=False)
    await oa_stack.act("oa-say", openid=openid, text="人工")
    await eventually(lambda: stored_from(oa_stack, openid, 2))
    await oa_stack.settle()
    await asyncio.sleep(0.5)  # one more sender poll: nothing more is queued, so nothing more may appear
    assert len(await logged(oa_stack, "app_message", "公众号客户转人工")()) == 1
    assert len(await logged(oa_stack, "oa_send", touser=openid)()) == 1
