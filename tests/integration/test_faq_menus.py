"""The FAQ's kf menus over real HTTP against the sandbox: "did you mean" in the suggest band, taps that answer and
teach, "都不是" that hands off, one greeting per session, no menu the window cannot afford, and no answer to a
low score's reason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.config.settings import SenderSettings, ServiceSettings
from services.faq.menu_clicks import NONE_REASON
from services.faq.menus import NONE_ID, item_id
from storage.models.faq import FaqReply, KbQuestion
from storage.models.messages import Message
from storage.models.surveys import Survey
from storage.models.tickets import Ticket
from tests.integration.test_cli import qunke
from tests.integration.test_faq import ANSWERS, decided, eventually, logged
from tests.support.stack import Stack, running_stack

SUGGEST_BAND = "能退款吗"  # `qunke faq ask --json` on kb/example.yaml: suggest, course_refund then refund_time


@pytest.fixture
async def menu_stack(database_url: str) -> AsyncIterator[Stack]:
    update = {"service": ServiceSettings(on_duty=("wangwu",))}
    async with running_stack(database_url, settings_update=update) as stack:
        yield stack


async def menu_sent(stack: Stack, customer: str, head: str) -> dict[str, Any]:
    found = await eventually(logged(stack, "kf_send", head, touser=customer, msgtype="msgmenu"))
    assert len(found) == 1, found
    return found[0]


def click_ids(sent: dict[str, Any]) -> list[str]:
    return [item["click"]["id"] for item in sent["menu"]["list"] if item["type"] == "click"]


async def test_a_suggest_band_question_gets_a_menu_of_candidates_and_a_way_to_a_person(menu_stack: Stack) -> None:
    said = await menu_stack.act("kf-say", customer="new", text=SUGGEST_BAND)
    sent = await menu_sent(menu_stack, said["external_userid"], "您是想问")
    assert click_ids(sent)[0] == item_id("course_refund")
    assert click_ids(sent)[-1] == NONE_ID
    labels = [item["click"]["content"] for item in sent["menu"]["list"]]
    assert labels[-1] == "都不是，转人工" and len(labels) <= 4
    reply = await eventually(lambda: decided(menu_stack, SUGGEST_BAND))
    assert (reply.decision, reply.entry_id, reply.member_userid) == ("suggested", "course_refund", None)
    assert not await logged(menu_stack, "app_message", ANSWERS["course_refund"])()  # no rep suggestion as well


async def test_a_tap_answers_the_entry_and_leaves_a_pending_variant_the_manager_confirms(menu_stack: Stack) -> None:
    said = await menu_stack.act("kf-say", customer="new", text=SUGGEST_BAND)
    customer = said["external_userid"]
    sent = await menu_sent(menu_stack, customer, "您是想问")
    await menu_stack.act("kf-click", customer=customer, menu_id=item_id("course_refund"), msgid=sent["msgid"])
    [answer] = await eventually(logged(menu_stack, "kf_send", ANSWERS["course_refund"], touser=customer))
    assert answer["msgtype"] == "text"

    env = {"QUNKE_DATABASE_URL": menu_stack.database_url}
    listed = await qunke("faq", "unanswered", "--pending", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [pending] = json.loads(listed.stdout)
    assert (pending["entry_id"], pending["text"]) == ("course_refund", SUGGEST_BAND)
    table = await qunke("faq", "unanswered", env=env)
    assert SUGGEST_BAND in table.stdout and "confirm-variant" in table.stdout

    confirmed = await qunke("faq", "confirm-variant", str(pending["id"]), env=env)
    assert confirmed.returncode == 0, confirmed.stderr
    async with menu_stack.sessions() as session:
        taught = await session.scalar(select(KbQuestion).where(KbQuestion.text == SUGGEST_BAND))
    assert taught is not None and taught.entry_id == "course_refund"
    again = await qunke("faq", "confirm-variant", str(pending["id"]), env=env)
    assert again.returncode == 1 and str(pending["id"]) in again.stderr
    assert json.loads((await qunke("faq", "unanswered", "--pending", "--json", env=env)).stdout) == []


async def test_none_of_these_hands_the_customer_to_a_person_when_tapped(menu_stack: Stack) -> None:
    said = await menu_stack.act("kf-say", customer="new", text=SUGGEST_BAND)
    customer = said["external_userid"]
    sent = await menu_sent(menu_stack, customer, "您是想问")
    await menu_stack.act("kf-click", customer=customer, menu_id=NONE_ID, msgid=sent["msgid"])
    await eventually(logged(menu_stack, "kf_send", "正在为您转接人工客服", touser=customer))
    [alert] = await eventually(logged(menu_stack, "app_message", "客户转人工"))
    assert "都不是" in json.dumps(alert, ensure_ascii=False)
    async with menu_stack.sessions() as session:  # the ticket names the question the menu did not answer
        subjects = (await session.scalars(select(Ticket.subject))).all()
    assert subjects == [f"{SUGGEST_BAND}（{NONE_REASON}）"]
    listed = await qunke(
        "faq", "unanswered", "--pending", "--json", env={"QUNKE_DATABASE_URL": menu_stack.database_url}
    )
    assert json.loads(listed.stdout) == []  # "none of these" teaches nothing


async def test_chitchat_gets_one_greeting_menu_per_session_and_then_silence(menu_stack: Stack) -> None:
    said = await menu_stack.act("kf-say", customer="new", text="你好")
    customer = said["external_userid"]
    greeting = await menu_sent(menu_stack, customer, "大家常问")
    assert NONE_ID not in click_ids(greeting) and 1 <= len(click_ids(greeting)) <= 5
    await menu_stack.act("kf-say", customer=customer, text="在吗")
    await menu_stack.act("kf-say", customer=customer, text="谢谢")

    async def stored() -> bool:
        async with menu_stack.sessions() as session:
            return len((await session.execute(select(Message).where(Message.sender_id == customer))).all()) == 3

    await eventually(stored)
    await menu_stack.settle()
    await asyncio.sleep(0.5)  # one more sender poll: nothing more is queued, so nothing more may appear
    assert len(await logged(menu_stack, "kf_send", touser=customer)()) == 1

    await menu_stack.act("kf-click", customer=customer, menu_id=click_ids(greeting)[0], msgid=greeting["msgid"])
    answers = await eventually(logged(menu_stack, "kf_send", "如需人工服务", touser=customer, msgtype="text"))
    assert len(answers) == 1


async def test_the_greeting_lists_the_first_kb_entries_in_file_order_when_nothing_was_asked_yet(
    menu_stack: Stack,
) -> None:
    said = await menu_stack.act("kf-say", customer="new", text="你好")
    greeting = await menu_sent(menu_stack, said["external_userid"], "大家常问")
    assert click_ids(greeting) == [item_id(entry) for entry in list(ANSWERS)[:5]]


async def test_the_greeting_lists_the_most_asked_entries_first_when_customers_have_asked(menu_stack: Stack) -> None:
    asked = (
        ("你们营业时间是几点", "opening_hours"),
        ("客服几点上班", "opening_hours"),
        ("直播课有回放吗", "class_replay"),
    )
    for text, entry in asked:  # each from a customer of their own: three confident answers
        said = await menu_stack.act("kf-say", customer="new", text=text)
        await eventually(logged(menu_stack, "kf_send", ANSWERS[entry], touser=said["external_userid"]))
    said = await menu_stack.act("kf-say", customer="new", text="你好")
    greeting = await menu_sent(menu_stack, said["external_userid"], "大家常问")
    kb_order = [entry for entry in ANSWERS if entry not in ("opening_hours", "class_replay")][:3]
    assert click_ids(greeting) == [item_id(e) for e in ("opening_hours", "class_replay", *kb_order)]


async def test_no_menu_is_sent_when_the_window_cannot_afford_the_answer_after_it(database_url: str) -> None:
    update = {"service": ServiceSettings(on_duty=("wangwu",)), "sender": SenderSettings(kf_quota=1)}
    async with running_stack(database_url, settings_update=update) as stack:
        said = await stack.act("kf-say", customer="new", text=SUGGEST_BAND)
        await eventually(logged(stack, "app_message", ANSWERS["course_refund"]))  # a rep suggests instead
        reply = await eventually(lambda: decided(stack, SUGGEST_BAND))
        assert (reply.decision, reply.member_userid) == ("suggested", "wangwu")
        await stack.act("kf-say", customer=said["external_userid"], text="你好")
        await eventually(lambda: decided_nothing_for(stack, "你好"))
        await stack.settle()
        assert not await logged(stack, "kf_send", touser=said["external_userid"])()


async def decided_nothing_for(stack: Stack, text: str) -> bool:
    """The chit-chat message is stored and its FAQ job is done (the inbox has nothing left)."""
    async with stack.sessions() as session:
        found = await session.scalar(select(Message.id).where(Message.text == text))
    return found is not None


async def test_a_low_score_with_its_reason_answers_the_survey_and_is_not_a_question_for_the_faq(
    menu_stack: Stack,
) -> None:
    said = await menu_stack.act("kf-say", customer="new", text="人工")  # handed to wangwu, on duty
    customer = said["external_userid"]
    await eventually(logged(menu_stack, "kf_send", "正在为您转接人工客服", touser=customer))
    await eventually(lambda: _servicer_is(menu_stack, customer, "wangwu"))
    await menu_stack.act("kf-end", customer=customer, member="wangwu")
    await eventually(logged(menu_stack, "kf_send", "请为本次服务打分", touser=customer))
    # The reason alone would get the KB's refund answer ("退款多久到账", 0.73): here it explains a score.
    words = "两星，退款到现在还没到账"
    await menu_stack.act("kf-say", customer=customer, text=words)
    [alert] = await eventually(logged(menu_stack, "app_message", "客户低分：CSAT 2/5"))
    assert words in alert["content"]
    await eventually(logged(menu_stack, "kf_send", "很抱歉没有让您满意", touser=customer))
    await menu_stack.settle()
    async with menu_stack.sessions() as session:
        survey = await session.scalar(select(Survey).where(Survey.answer_text == words))
        assert survey is not None and survey.score == 2
        asked = await session.scalar(select(FaqReply.id).where(FaqReply.message_id == survey.answer_message_id))
        assert asked is None
    assert not await logged(menu_stack, "kf_send", "原路退款", touser=customer)()


async def _servicer_is(stack: Stack, customer: str, userid: str) -> bool:
    state = await stack.sandbox_state()
    sessions = [s for account in state["kf_accounts"] for s in account["sessions"]]
    return any(s["external_userid"] == customer and s.get("servicer_userid") == userid for s in sessions)
