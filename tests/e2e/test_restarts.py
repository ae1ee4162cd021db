"""Restarts: the bot SIGKILLed mid-conversation, and the sandbox (the corp) stopped and started again."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Stack
from tests.e2e.scenarios import UNSTAFFED, bot_killed_mid_conversation, texts

pytestmark = pytest.mark.e2e
E2E_STACKS = (UNSTAFFED,)


def test_nothing_is_lost_or_doubled_when_the_bot_is_killed_mid_conversation(unstaffed_stack: Stack) -> None:
    bot_killed_mid_conversation(unstaffed_stack, "Lemon柠檬", "2026秋季训练营1群")


def test_the_corp_is_remembered_and_both_channels_work_when_the_sandbox_restarts(unstaffed_stack: Stack) -> None:
    stack = unstaffed_stack
    newcomer = stack.act("kf-say", {"customer": "new", "text": "运费多少"})["external_userid"]
    stack.wait_for(lambda: stack.kf_sent(newcomer), 60, "the newcomer answered before the restart")
    bloom, group = stack.external_userid("静待花开"), stack.group_id("2026秋季训练营1群")
    stack.group_say(bloom, group, "重启前在群里说一句")
    archived = stack.state()["archive"]["last_seq"]

    stack.sandbox.stop()
    stack.start_sandbox()

    state = stack.state()
    assert newcomer in {c["external_userid"] for c in state["customers"]}, "the kf newcomer was forgotten"
    assert state["archive"]["last_seq"] >= archived, state["archive"]
    stack.kf_say(newcomer, "怎么退货")
    stack.wait_for(
        lambda: len(texts(stack.kf_sent(newcomer))) >= 1 and any("退" in t for t in texts(stack.kf_sent(newcomer))),
        90,
        "a kf answer after the sandbox restart",
    )
    stack.group_say(bloom, group, "重启后在群里说一句")
    stack.wait_for(
        lambda: any(e.get("text") == "重启后在群里说一句" for e in stack.timeline(bloom)),
        90,
        "a group message on the timeline after the sandbox restart",
    )
