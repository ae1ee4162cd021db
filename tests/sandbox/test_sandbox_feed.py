"""The simulator page's one poll (/sandbox/feed), a member's text to the app in the log and `say --in app`, and the
quiet access logs of the sandbox page and the bot's probes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from typer.testing import CliRunner

from bot.access_log import QuietAccessLogger
from sandbox.cli.main import app as sandbox_cli
from sandbox.cli.serve import is_quiet
from tests.sandbox.sandbox_api import Client, act, customer_named, get_json, log, settle, state


async def test_the_feed_has_state_pending_and_only_new_lines_when_given_cursors(sandbox: Client) -> None:
    world = await state(sandbox)
    deer = customer_named(world, "小鹿乱撞🦌")["external_userid"]
    await act(sandbox, "kf-say", customer=deer, text="请问几点发货")
    first = await get_json(sandbox, "/sandbox/feed")
    assert first["state"]["corp_id"] == world["corp_id"] and isinstance(first["pending"], int)
    [chat] = first["kf"]["chats"]
    assert chat["external_userid"] == deer and chat["messages"][-1]["message"]["text"]["content"] == "请问几点发货"
    cursors = {"log": str(first["log"]["last_seq"]), "archive": "0", "oa": str(first["oa"]["last_n"])}
    again = await get_json(sandbox, "/sandbox/feed", **cursors)
    assert again["log"]["entries"] == [] and again["log"]["last_seq"] == first["log"]["last_seq"]
    await act(sandbox, "member-app-say", member="zhangsan", text="工单")
    newer = await get_json(sandbox, "/sandbox/feed", **cursors)
    said = [e for e in newer["log"]["entries"] if e["kind"] == "member_app_text"]
    assert [(e["userid"], e["text"]) for e in said] == [("zhangsan", "工单")]


async def test_the_feed_refuses_a_bad_cursor_with_a_one_line_error_when_not_a_number(sandbox: Client) -> None:
    resp = await sandbox.get("/sandbox/feed", params={"log": "abc"})
    assert resp.status == 400
    assert "log 应为非负整数" in (await resp.json())["error"]["message"]


async def test_say_in_app_sends_the_members_text_to_the_app_when_run_from_cli(sandbox: Client) -> None:
    url = str(sandbox.make_url(""))
    args = ["say", "--member", "lisi", "--in", "app", "认领 T2"]
    result = await asyncio.to_thread(CliRunner().invoke, sandbox_cli, args, env={"SANDBOX_URL": url})
    assert result.exit_code == 0, result.output
    assert "成员 lisi → 应用" in result.output
    await settle(sandbox)
    entries = await log(sandbox)
    assert [(e["userid"], e["text"]) for e in entries if e["kind"] == "member_app_text"] == [("lisi", "认领 T2")]
    assert any(e["kind"] == "callback" and "<Content><![CDATA[认领 T2]]>" in e["plaintext"] for e in entries)
    refused = await asyncio.to_thread(
        CliRunner().invoke, sandbox_cli, ["say", "--in", "app", "工单"], env={"SANDBOX_URL": url}
    )
    assert refused.exit_code == 2 and "--member" in refused.output


@pytest.mark.parametrize(
    ("method", "path", "status", "quiet"),
    [
        ("GET", "/sandbox/feed", 200, True),
        ("GET", "/sandbox/static/chats.js", 200, True),
        ("GET", "/sandbox/", 200, True),
        ("GET", "/sandbox/feed", 400, False),
        ("POST", "/sandbox/act/say", 200, False),
        ("GET", "/cgi-bin/user/get", 200, False),
    ],
)
def test_the_sandbox_console_skips_only_successful_page_reads_when_logging_access(
    method: str, path: str, status: int, quiet: bool
) -> None:
    assert is_quiet(method, path, status) is quiet


@pytest.mark.parametrize(
    ("path", "status", "logged"), [("/healthz", 200, False), ("/healthz", 503, True), ("/x", 200, True)]
)
def test_the_bot_access_log_skips_healthy_probes_when_logging(
    caplog: pytest.LogCaptureFixture, path: str, status: int, logged: bool
) -> None:
    logger = logging.getLogger("qunke.test.access")
    access = QuietAccessLogger(logger, "%r %s")
    with caplog.at_level(logging.INFO, logger="qunke.test.access"):
        access.log(make_mocked_request("GET", path), web.Response(status=status), 0.001)
    lines: list[Any] = [r for r in caplog.records if r.name == "qunke.test.access"]
    assert bool(lines) is logged
