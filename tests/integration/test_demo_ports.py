"""Two `qunke demo`s side by side: each on its own ports, each sandbox calling back only its own bot."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_process import qunke, running_demo
from tests.support.postgres import free_port

pytestmark = pytest.mark.slow


def _events(cwd: Path) -> list[dict[str, Any]]:
    listed = qunke("events", "list", "--json", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, Any]] = json.loads(listed.stdout)
    return rows


def test_two_demos_do_not_see_each_other_when_started_on_different_ports(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    ports = [free_port() for _ in range(4)]
    with running_demo(first, ports[0], ports[1]), running_demo(second, ports[2], ports[3]):
        # The sandbox CLI finds each sandbox by --port or --url, not the default 8081.
        state_a = json.loads(qunke("sandbox", "--port", str(ports[1]), "state", "--json", cwd=first).stdout)
        url_b = f"http://127.0.0.1:{ports[3]}"
        state_b = json.loads(qunke("sandbox", "--url", url_b, "state", "--json", cwd=second).stdout)
        assert state_a["callback_url"] == f"http://127.0.0.1:{ports[0]}/wecom/callback"
        assert state_b["callback_url"] == f"http://127.0.0.1:{ports[2]}/wecom/callback"

        before = len(_events(second))
        customer = state_a["customers"][0]["external_userid"]
        said = qunke("sandbox", "--port", str(ports[1]), "say", "--as", customer, "--in", "kf", "你好", cwd=first)
        assert said.returncode == 0, said.stdout + said.stderr
        deadline = time.monotonic() + 30
        while not any(e["type"].startswith("kf") for e in _events(first)):
            assert time.monotonic() < deadline, "the first demo never received the kf event"
            time.sleep(0.3)
        assert len(_events(second)) == before


def test_a_second_demo_fails_in_one_line_naming_the_port_when_the_ports_are_taken(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    bot, sandbox = free_port(), free_port()
    with running_demo(first, bot, sandbox):
        clash = qunke("demo", "--port", str(free_port()), "--sandbox-port", str(sandbox), cwd=second)
        assert clash.returncode == 1
        assert clash.stderr.strip().splitlines() == [clash.stderr.strip()]
        assert f":{sandbox}" in clash.stderr and "--sandbox-port" in clash.stderr
        assert "Traceback" not in clash.stdout + clash.stderr

        clash = qunke("demo", "--port", str(bot), "--sandbox-port", str(free_port()), cwd=second)
        assert clash.returncode == 1 and f":{bot}" in clash.stderr and "--port" in clash.stderr
        assert not (second / "var" / "qunke.db").exists()  # nothing started, nothing written
