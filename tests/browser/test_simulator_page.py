"""The simulator page as a person uses it: kf star menus are buttons that answer the survey, a rep sees the app's
alerts, and a rep's command to the app reaches the bot and is answered."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from typing import Any

from tests.support.live_demo import LiveDemo

WAIT_MS = 20_000


def _call(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        answer: dict[str, Any] = json.load(resp)
        return answer


def _customer(live: LiveDemo, index: int) -> tuple[str, str]:
    customer = _call(f"{live.sandbox_url}/sandbox/state")["customers"][index]
    return customer["external_userid"], customer["name"]


def _app_message(live: LiveDemo, containing: str, seconds: float = 20) -> dict[str, Any]:
    """The first app message (message/send to a member) whose text contains `containing`, polled with a deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        entries: list[dict[str, Any]] = _call(f"{live.sandbox_url}/sandbox/log")["entries"]
        for entry in entries:
            if entry["kind"] == "app_message" and containing in entry["content"]:
                return entry
        time.sleep(0.2)
    raise AssertionError(f"no app message containing {containing!r} within {seconds} s")


def _complain_in_kf(live: LiveDemo, index: int, text: str) -> tuple[str, str, dict[str, Any]]:
    """A kf customer complains; the bot opens a ticket and alerts a rep. (external_userid, name, the alert)."""
    external_userid, name = _customer(live, index)
    _call(f"{live.sandbox_url}/sandbox/act/kf-say", {"customer": external_userid, "text": text})
    return external_userid, name, _app_message(live, text)


def _survey_scores(live: LiveDemo) -> list[tuple[str, int | None]]:
    path = live.database_url.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        return [(str(s), n) for s, n in db.execute("SELECT status, score FROM surveys ORDER BY id")]


def test_a_kf_star_menu_is_buttons_and_a_click_answers_the_survey_when_the_customer_clicks(
    live: LiveDemo, page: Any
) -> None:
    external_userid, _, alert = _complain_in_kf(live, 0, "我要投诉，快递三天没动了")
    ref = alert["content"].split("【新工单 ", 1)[1].split("】", 1)[0]
    _call(f"{live.sandbox_url}/sandbox/act/member-app-say", {"member": alert["userid"], "text": f"解决 {ref}"})
    page.goto(f"{live.sandbox_url}/sandbox/")
    page.click(f"#chat-list button[data-chat$=':{external_userid}'][data-chat^='kf:']")
    star = page.locator("#chat-messages button[data-kf-click='csat_5']")
    star.wait_for(timeout=WAIT_MS)
    # Rendered as the customer sees it: the head and five tappable lines, not JSON.
    assert page.locator("#chat-messages button[data-kf-click]").count() == 5
    assert "msgmenu" not in page.locator("#chat-messages").inner_text()
    star.click()
    page.locator("#chat-messages li", has_text="感谢您的评价").wait_for(timeout=WAIT_MS)
    assert ("answered", 5) in _survey_scores(live)


def test_a_rep_alert_shows_its_text_when_the_members_app_chat_is_opened(live: LiveDemo, page: Any) -> None:
    _, name, alert = _complain_in_kf(live, 1, "太差了，我要投诉你们的售后")
    page.goto(f"{live.sandbox_url}/sandbox/")
    page.click(f"#chat-list button[data-chat='app:{alert['userid']}']")
    shown = page.locator("#chat-messages li", has_text="太差了，我要投诉你们的售后")
    shown.wait_for(timeout=WAIT_MS)
    assert "新工单" in shown.inner_text() and name in shown.inner_text()


def test_a_reps_command_to_the_app_reaches_the_bot_and_is_answered_when_typed_in_the_page(
    live: LiveDemo, page: Any
) -> None:
    page.goto(f"{live.sandbox_url}/sandbox/")
    page.click("#chat-list button[data-chat='app:wangwu']")
    page.fill("#chat-text", "工单")
    page.click("#chat-send")
    page.locator("#chat-messages li", has_text="（发给应用）").wait_for(timeout=WAIT_MS)
    answer = page.locator("#chat-messages li", has_text="应用（机器人）").filter(has_text="工单")
    answer.first.wait_for(timeout=WAIT_MS)
    assert "你目前没有处理中的工单" in answer.first.inner_text() or "你负责的工单" in answer.first.inner_text()
