"""A hand-off with nobody to take it is never a dead end: the customer is told, the session waits in the pool and
the managers hear about it."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Stack
from tests.e2e.scenarios import UNSTAFFED, texts

pytestmark = pytest.mark.e2e
E2E_STACKS = (UNSTAFFED,)


def test_customer_is_told_and_managers_alerted_when_no_one_can_take_the_handoff(unstaffed_stack: Stack) -> None:
    stack = unstaffed_stack
    newcomer = stack.act("kf-say", {"customer": "new", "text": "我要转人工"})["external_userid"]

    told = stack.wait_for(lambda: texts(stack.kf_sent(newcomer)), 30, "a reply to the customer who asked for a person")
    stack.wait_for(
        lambda: (stack.kf_session(newcomer) or {}).get("service_state") == 2, 60, "the session queued in the pool"
    )
    # 转人工 names the hand-off: an SLA escalation about the same wait would not prove the manager was alerted.
    alerts = stack.wait_for(lambda: stack.app_messages("zhaoliu", "转人工"), 60, "the manager 赵六 alerted")
    assert told and alerts
