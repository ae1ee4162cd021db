""" "Did you mean" in kf, black-box: a question the matcher is unsure of gets a menu of its candidates; a tap on one
gets that entry's answer. The question is found with `qunke faq ask --json`, as a manager would check one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import Stack
from tests.e2e.scenarios import UNSTAFFED

pytestmark = pytest.mark.e2e
E2E_STACKS = (UNSTAFFED,)
# Phrasings of the example KB's refund entries that the matcher should be unsure of; the first in the suggest band
# is used, so a recalibrated matcher still finds one.
UNSURE_PHRASINGS = ("能退款吗", "钱能退吗", "可以退钱不")


def suggest_band_question(stack: Stack) -> dict[str, Any]:
    for text in UNSURE_PHRASINGS:
        decision: dict[str, Any] = stack.cli_json("faq", "ask", text)
        if decision["action"] == "suggest" and decision["candidates"]:
            return decision
    raise AssertionError(f"none of {UNSURE_PHRASINGS} is in the suggest band of the demo KB")


def test_a_kf_customer_taps_the_did_you_mean_menu_and_gets_the_answer(unstaffed_stack: Stack) -> None:
    stack = unstaffed_stack
    decision = suggest_band_question(stack)
    best = decision["candidates"][0]
    newcomer = stack.act("kf-say", {"customer": "new", "text": decision["query"]})["external_userid"]

    menus = stack.wait_for(
        lambda: [e for e in stack.kf_sent(newcomer) if e.get("msgtype") == "msgmenu"], 60, "the did-you-mean menu"
    )
    assert len(menus) == 1, menus
    menu = menus[0]["menu"]
    assert menu["head_content"].startswith("您是想问")
    clicks = [item["click"] for item in menu["list"] if item["type"] == "click"]
    assert clicks[0]["content"] and clicks[-1]["content"] == "都不是，转人工"

    stack.act("kf-click", {"customer": newcomer, "menu_id": clicks[0]["id"], "msgid": menus[0]["msgid"]})
    answers = stack.wait_for(
        lambda: [e["content"] for e in stack.kf_sent(newcomer) if e.get("msgtype") == "text"], 60, "the tapped answer"
    )
    assert len(answers) == 1 and answers[0].startswith(best["answer"]), (answers, best)
