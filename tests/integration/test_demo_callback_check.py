"""`qunke demo` checks the callback URL once the bot listens and says so in one readable Chinese line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.cli.callback_check import describe
from tests.support.cli_process import running_demo
from tests.support.postgres import free_port


@pytest.mark.slow
def test_demo_prints_one_passed_line_when_the_bot_answers_the_callback_check(tmp_path: Path) -> None:
    bot, sandbox = free_port(), free_port()
    with running_demo(tmp_path, bot, sandbox):
        deadline = time.monotonic() + 40
        while "回调 URL 验证" not in (tmp_path / "demo.log").read_text():
            assert time.monotonic() < deadline, "the demo never reported the callback check"
            time.sleep(0.2)
    lines = [line for line in (tmp_path / "demo.log").read_text().splitlines() if "回调 URL 验证" in line]
    assert len(lines) == 1 and lines[0].startswith(f"回调 URL 验证通过：http://127.0.0.1:{bot}/wecom/callback（")
    assert "{'ok'" not in (tmp_path / "demo.log").read_text()


def test_callback_check_names_the_reason_in_chinese_when_the_bot_answers_wrongly() -> None:
    url = "http://127.0.0.1:1/wecom/callback"
    assert describe({"ok": True, "elapsed_ms": 3}, url) == f"回调 URL 验证通过：{url}（3 ms）"
    failed = describe({"ok": False, "outcome": "http_500", "http_status": 500}, url)
    assert failed.startswith(f"回调 URL 验证失败：{url}") and "HTTP 500" in failed and "{" not in failed
    assert "连不上机器人" in describe({"ok": False, "outcome": "connection_error"}, url)
    assert "WECOM_AES_KEY" in describe({"ok": False, "outcome": "mismatch"}, url)
