""" "Did you mean" on the Official Account, black-box: a follower's question the matcher is unsure of gets an OA msgmenu
of its candidates; a tap (a text carrying bizmsgmenuid) gets that entry's answer; "都不是" gets a colleague, and the
bot then leaves the follower to that person until the hand-off ticket is solved, and again once it is reopened."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import Stack
from tests.e2e.scenarios import FAQ_QUESTIONS, UNSTAFFED
from tests.e2e.test_faq_menu import suggest_band_question

pytestmark = pytest.mark.e2e
E2E_STACKS = (UNSTAFFED,)


def follower(stack: Stack, nickname: str) -> str:
    return str(next(f["openid"] for f in stack.state()["oa_followers"] if f["nickname"] == nickname))


def oa_sent(stack: Stack, openid: str, msgtype: str) -> list[dict[str, Any]]:
    """What the bot sent this follower through custom/send, as the sandbox accepted it."""
    return [
        e["payload"]
        for e in stack.log()
        if e["kind"] == "oa_send" and e.get("touser") == openid and e.get("msgtype") == msgtype
    ]


def ask_and_get_menu(stack: Stack, openid: str, question: str) -> dict[str, Any]:
    stack.act("oa-say", {"openid": openid, "text": question})
    menus = stack.wait_for(lambda: oa_sent(stack, openid, "msgmenu"), 60, "the did-you-mean menu on the OA")
    assert len(menus) == 1, menus
    menu: dict[str, Any] = menus[0]["msgmenu"]
    assert menu["head_content"].startswith("您是想问") and menu["list"][-1]["content"] == "都不是，转人工"
    return menu


def tap(stack: Stack, openid: str, option: dict[str, Any]) -> None:
    stack.act("oa-say", {"openid": openid, "text": option["content"], "menu_id": option["id"]})


def test_an_oa_follower_taps_the_did_you_mean_menu_and_gets_the_answer(unstaffed_stack: Stack) -> None:
    stack = unstaffed_stack
    decision = suggest_band_question(stack)
    openid = follower(stack, "老周")
    menu = ask_and_get_menu(stack, openid, decision["query"])
    tap(stack, openid, menu["list"][0])
    answers = stack.wait_for(lambda: oa_sent(stack, openid, "text"), 60, "the tapped answer on the OA")
    best = decision["candidates"][0]
    assert len(answers) == 1 and answers[0]["text"]["content"].startswith(best["answer"]), (answers, best)
    pending = stack.cli_json("faq", "unanswered", "--pending")
    assert any(p["text"] == decision["query"] and p["entry_id"] == best["entry_id"] for p in pending), pending


def test_none_of_these_on_the_oa_gets_a_colleague_and_bot_answers_again_only_while_the_ticket_is_solved(
    unstaffed_stack: Stack,
) -> None:
    stack = unstaffed_stack
    decision = suggest_band_question(stack)
    openid = follower(stack, "路人甲")  # not a customer of the corp: no owner, nobody on duty, so the manager hears
    menu = ask_and_get_menu(stack, openid, decision["query"])
    tap(stack, openid, menu["list"][-1])
    notices = stack.wait_for(lambda: oa_sent(stack, openid, "text"), 60, "the follower's notice")
    assert "同事" in notices[0]["text"]["content"], notices
    alerts = stack.wait_for(lambda: stack.app_messages("zhaoliu", "公众号客户转人工"), 60, "the manager's alert")
    assert decision["query"] in alerts[0], alerts

    # With a person now: the next question is stored and left to them, the profile says so.
    ticket = stack.wait_for(lambda: handoff_ticket(stack, openid), 60, "the hand-off ticket")
    question = FAQ_QUESTIONS[0]
    answer = stack.cli_json("faq", "ask", question)["candidates"][0]["answer"]
    stack.act("oa-say", {"openid": openid, "text": question})
    held = stack.wait_for(lambda: with_person(stack, ticket, messages=1), 60, "the question left to a person")
    assert held["ticket_id"] == ticket["id"] and held["alerted"] == ["zhaoliu"], held
    assert len(oa_sent(stack, openid, "text")) == 1  # the notice only: no answer, menu or greeting
    assert not oa_sent(stack, openid, "msgmenu")[1:]

    # The manager answers from the WeCom app, as the alert says: the words reach the follower on the OA and stand
    # on the timeline as hers; she hears that it went.
    assert f"回复 {ticket['ref']} 您要说的话" in alerts[0], alerts
    words = "您好，我是客服主管，这个问题我来帮您处理。"
    stack.act("member-app-say", {"member": "zhaoliu", "text": f"回复 {ticket['ref']} {words}"})
    relayed = stack.wait_for(
        lambda: [m for m in oa_sent(stack, openid, "text") if m["text"]["content"] == words], 60, "the relayed reply"
    )
    assert len(relayed) == 1, relayed
    stack.wait_for(lambda: stack.app_messages("zhaoliu", "已通过公众号把你的回复发给"), 60, "the manager's receipt")
    said = stack.wait_for(
        lambda: [
            item
            for item in stack.cli_json("customer", "show", str(ticket["customer_id"]))["timeline"]
            if item["kind"] == "message" and item["text"] == words
        ],
        60,
        "the reply on the timeline",
    )
    assert (said[0]["side"], said[0]["sender_id"]) == ("member", "zhaoliu"), said

    # The manager solves the ticket as users do; the follower's next question is the bot's again.
    stack.cli("ticket", "solve", ticket["ref"])
    stack.act("oa-say", {"openid": openid, "text": question})
    answers = stack.wait_for(
        lambda: [m for m in oa_sent(stack, openid, "text") if m["text"]["content"].startswith(answer)],
        60,
        "the bot's answer after the ticket was solved",
    )
    assert len(answers) == 1, answers
    timeline = stack.cli_json("customer", "show", str(ticket["customer_id"]))["timeline"]
    kinds = [item["kind"] for item in timeline if item["kind"].startswith("oa_")]
    assert kinds == ["oa_with_person", "oa_person_released"], kinds

    # Reopened: a person serves them again, so the bot steps back and the manager hears of the next question.
    stack.cli("ticket", "reopen", ticket["ref"])
    stack.act("oa-say", {"openid": openid, "text": question})
    stack.wait_for(lambda: with_person(stack, ticket, messages=1), 60, "held again after the reopening")
    stack.wait_for(lambda: stack.app_messages("zhaoliu", "公众号转人工客户的新消息"), 60, "the manager hears of it")
    assert [m for m in oa_sent(stack, openid, "text") if m["text"]["content"].startswith(answer)] == answers


def handoff_ticket(stack: Stack, openid: str) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = stack.cli_json("ticket", "list")
    found = [r for r in rows if r["channel"] == "oa" and r["source"] == "handoff" and openid in r["chat_id"]]
    return found[0] if found else None


def with_person(stack: Stack, ticket: dict[str, Any], messages: int) -> dict[str, Any] | None:
    """The profile's "with a person" state once it has counted `messages` messages from the follower."""
    held: dict[str, Any] | None = stack.cli_json("customer", "show", str(ticket["customer_id"]))["oa_with_person"]
    return held if held is not None and held["messages"] >= messages else None
