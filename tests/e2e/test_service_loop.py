"""The service loop as customers and reps live it: FAQ answers, suggestions, hand-offs, SLA alerts, tickets, surveys and
the churn job, each firing on its own in a running `qunke serve` on the real clock.

One stack for the module; every test speaks as a different demo customer so the scenarios do not interfere. The slow
timers (SLA, auto-close, survey expiry, churn) are started by the module fixture and checked by the last tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Keys, Stack, StackPlan
from tests.e2e.pool import StackPool, use_stack
from tests.e2e.scenarios import COMPLAINT, UNKNOWN_QUESTION, faq_answer_in_kf, sla_fires, sla_start, texts, ticket

pytestmark = pytest.mark.e2e

SURVEY_EXPIRE_S = 60


@dataclass
class Started:
    stack: Stack
    sla_customer: str  # 阿杰 asked a question no one answers
    expiry_customer: str  # 奔跑的蜗牛 complained; the ticket was solved and the survey is left unanswered
    expiry_ticket: str

    def stop(self) -> None:
        self.stack.stop()


def _build(root: Path, keys: Keys) -> Started:
    """Start the stack and, at once, the slow timers the last tests check."""
    tickets, surveys = {"auto_close_days": 30 / 86400}, {"expire_h": SURVEY_EXPIRE_S / 3600}
    stack = Stack(root, keys, tickets=tickets, surveys=surveys).start()
    try:
        jie, snail = sla_start(stack, "阿杰"), stack.external_userid("奔跑的蜗牛🐌")
        stack.kf_say(snail, COMPLAINT)
        complaint = stack.wait_for(lambda: ticket(stack, "奔跑的蜗牛🐌", "complaint"), 60, "the complaint ticket")
        stack.cli("ticket", "solve", complaint["ref"])
    except BaseException:
        stack.stop()
        raise
    return Started(stack, jie, snail, complaint["ref"])


SERVICE_LOOP = StackPlan("service-loop", _build)
E2E_STACKS = (SERVICE_LOOP,)


@pytest.fixture(scope="module")
def started(stack_pool: StackPool) -> Iterator[Started]:
    yield from use_stack(stack_pool, SERVICE_LOOP)


@pytest.fixture
def stack(started: Started) -> Stack:
    return started.stack


def test_kf_question_gets_the_faq_answer_when_the_kb_knows_it(stack: Stack) -> None:
    faq_answer_in_kf(stack, "Lemon柠檬", typed_in_cli=True)


def test_bot_kf_reply_is_on_the_timeline_when_the_faq_answered(stack: Stack) -> None:
    newcomer = stack.act("kf-say", {"customer": "new", "text": "发票怎么开"})["external_userid"]
    reply = stack.wait_for(lambda: texts(stack.kf_sent(newcomer)), 60, "the bot's kf reply")[0]
    stack.wait_for(
        lambda: [e for e in stack.timeline(newcomer) if reply.split("\n")[0] in (e.get("text") or "")],
        20,
        "the bot's reply on the timeline",
    )


def test_group_question_reaches_the_owner_as_a_private_suggestion_when_the_kb_knows_it(stack: Stack) -> None:
    bloom, group = stack.external_userid("静待花开"), stack.group_id("2026秋季训练营1群")
    stack.group_say(bloom, group, "请问发票怎么开呀")

    suggestions = stack.wait_for(
        lambda: [t for t in stack.app_messages("zhangsan", "静待花开") if "建议回复" in t],
        90,
        "the suggested reply to 张三 (group message via the chat archive)",
    )
    assert "开票" in suggestions[0], suggestions
    stack.wait_for(
        lambda: [e for e in stack.timeline(bloom) if e["kind"] == "message" and e["text"] == "请问发票怎么开呀"],
        60,
        "the group question on the timeline",
    )


def test_handoff_goes_to_the_owner_when_the_owner_is_a_kf_servicer(stack: Stack) -> None:
    kevin = stack.external_userid("Kevin")
    stack.kf_say(kevin, "我要转人工")

    stack.wait_for(
        lambda: (stack.kf_session(kevin) or {}).get("servicer_userid") == "zhaoliu",
        60,
        "Kevin's session with his owner 赵六",
    )
    assert stack.wait_for(lambda: stack.app_messages("zhaoliu", "Kevin"), 30, "赵六 told about the hand-off")
    assert stack.wait_for(lambda: texts(stack.kf_sent(kevin)), 30, "Kevin told he is being transferred")


def test_handoff_goes_to_the_rep_on_duty_when_the_customer_has_no_owner(stack: Stack) -> None:
    newcomer = stack.act("kf-say", {"customer": "new", "text": "我要转人工"})["external_userid"]

    stack.wait_for(
        lambda: (stack.kf_session(newcomer) or {}).get("servicer_userid") == "wangwu",
        60,
        "the newcomer's session with 王五 (on duty)",
    )
    assert stack.wait_for(lambda: texts(stack.kf_sent(newcomer)), 30, "the newcomer told about the transfer")


def test_handoff_happens_when_the_customer_greets_before_asking_for_a_person(stack: Stack) -> None:
    newcomer = stack.act("kf-say", {"customer": "new", "text": "你好，我要转人工"})["external_userid"]

    stack.wait_for(
        lambda: (stack.kf_session(newcomer) or {}).get("servicer_userid") == "wangwu",
        60,
        "the greeting newcomer's session with 王五 (on duty)",
    )


def test_owner_is_told_the_customer_waits_in_the_pool_when_the_owner_is_not_a_kf_servicer(stack: Stack) -> None:
    deer = stack.external_userid("小鹿乱撞🦌")  # owner 张三 is no kf servicer: WeCom refuses the transfer (95014)
    stack.kf_say(deer, "转人工")

    stack.wait_for(lambda: (stack.kf_session(deer) or {}).get("service_state") == 2, 60, "the session in the pool")
    told = stack.wait_for(lambda: stack.app_messages("zhangsan", "小鹿乱撞"), 30, "张三 told about the hand-off")
    assert not any("已转给您接待" in text for text in told), told
    assert any("待接入" in text for text in told), told


def test_complaint_in_kf_opens_a_ticket_for_the_owner(stack: Stack) -> None:
    sunflower = stack.external_userid("🌻向日葵")
    stack.kf_say(sunflower, COMPLAINT)

    opened = stack.wait_for(lambda: ticket(stack, "🌻向日葵", "complaint"), 60, "a complaint ticket")
    assert opened["assignee"] == "zhangsan" and opened["status"] == "open", opened
    assert stack.wait_for(lambda: stack.app_messages("zhangsan", opened["ref"]), 30, "张三 told about the ticket")
    told = stack.wait_for(
        lambda: [t for t in texts(stack.kf_sent(sunflower)) if opened["ref"] in t],
        30,
        "the customer told it is registered",
    )
    assert "已登记您的问题" in told[0], told


def test_kf_csat_score_is_recorded_when_the_customer_answers_the_star_menu(stack: Stack) -> None:
    mom = stack.external_userid("王姐(宝妈)")
    stack.kf_say(mom, COMPLAINT)
    opened = stack.wait_for(lambda: ticket(stack, "王姐(宝妈)", "complaint"), 60, "王姐's complaint ticket")
    stack.cli("ticket", "solve", opened["ref"])

    menu = stack.wait_for(
        lambda: [e for e in stack.kf_sent(mom) if e.get("msgtype") == "msgmenu"], 60, "the CSAT star menu in kf"
    )
    assert "csat_5" in str(menu[0]["menu"]), menu
    stack.kf_say(mom, "5")

    stack.wait_for(lambda: "感谢您的评价！" in texts(stack.kf_sent(mom)), 60, "the thanks for the score")
    answered = stack.wait_for(
        lambda: [e for e in stack.timeline(mom) if e["kind"] == "csat_answered"], 60, "the score on the timeline"
    )
    assert answered[0]["detail"]["score"] == 5, answered


def test_contact_in_no_group_is_imported_with_owner_when_the_bot_starts(stack: Stack) -> None:
    liu = stack.external_userid("大刘")
    # The start-up import has read every group once a member of each is listed.
    for member_of_each_group in ("小鹿乱撞🦌", "阿杰", "Kevin"):
        stack.customer_id(stack.external_userid(member_of_each_group))
    rows = {row["external_userid"]: row for row in stack.customers()}
    assert liu in rows, "大刘 (王五's contact, in no group) is missing from `qunke customer list`"
    assert rows[liu]["owner_userid"] == "wangwu", rows[liu]


def test_sla_warns_escalates_and_opens_an_overdue_ticket_when_no_one_answers(started: Started) -> None:
    sla_fires(started.stack, "阿杰", owner="lisi", manager="zhaoliu")
    replies = texts(started.stack.kf_sent(started.sla_customer))
    assert not any(UNKNOWN_QUESTION in reply for reply in replies), replies


def test_solved_ticket_closes_and_unanswered_survey_expires_on_their_own(started: Started) -> None:
    stack = started.stack
    closed = stack.wait_for(
        lambda: ticket(stack, "奔跑的蜗牛🐌", "complaint", status="closed"), 180, "the solved ticket to close itself"
    )
    assert closed["ref"] == started.expiry_ticket and closed["closed_at"], closed
    report = stack.wait_for(
        lambda: (s := stack.cli_json("report", "service")["scores"])["expired"] >= 1 and s,
        SURVEY_EXPIRE_S + 120,
        "the unanswered survey to expire",
    )
    assert report["asked"] >= report["expired"] >= 1, report


def test_churn_job_runs_at_its_configured_time(stack: Stack) -> None:
    run_at = stack.config["churn"]["run_at"]

    def churn_ran() -> dict[str, Any]:
        job: dict[str, Any] = stack.healthz()["scheduler"]["jobs"]["churn"]
        assert job["runs"] >= 1, f"not run yet: {job}"
        return job

    churn = stack.wait_for(churn_ran, 300, f"the churn job at {run_at} Asia/Shanghai", interval=2)
    assert churn["failures"] == 0 and churn["last_error"] is None, churn
    assert stack.healthz()["event_loop"] == "uvloop"  # the scheduler's timers fired on the loop production runs
    assert re.search(r'qunke_job_runs_total\{job="churn",result="ok"\} [1-9]', stack.metrics()), "churn not in metrics"
