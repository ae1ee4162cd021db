"""A database that is down, unreachable, misnamed or unmigrated: every CLI command says so in one line, exit 3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import free_port
from tests.support.stack import DEMO

REPO = Path(__file__).resolve().parents[2]


def _qunke(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QUNKE_CONFIG": str(REPO / "config.yaml"),
        "QUNKE_DATABASE_URL": database_url,
        "WECOM_CORP_ID": DEMO.corp_id,
        "WECOM_SECRET": DEMO.secret,
        "WECOM_TOKEN": DEMO.token,
        "WECOM_AES_KEY": DEMO.aes_key,
        "WECOM_API_BASE": "http://127.0.0.1:9",
    }
    command = [sys.executable, "-m", "bot", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=90)


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip() and " WARNING " not in line]
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("数据库不可用 / database unavailable: ") and expected in lines[0], lines[0]


STOPPED = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/qunke"  # nothing listens: a stopped server
CASES = [
    (STOPPED, "connection refused"),
    ("postgresql+asyncpg://postgres@qunke-no-such-host.invalid:5432/qunke", "host not found"),
    ("postgres://postgres@127.0.0.1:5432/qunke", "scheme postgres:// is not supported"),
]


@pytest.mark.parametrize(("url", "expected"), CASES)
@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["customer", "list"], ["db", "upgrade"]])
def test_command_prints_one_line_and_exits_3_when_the_database_cannot_be_used(
    url: str, expected: str, command: list[str]
) -> None:
    result = _qunke(url, *command)
    _assert_one_clear_line(result, expected)
    assert "schema is at nothing" not in result.stderr


def test_serve_says_to_migrate_when_the_sqlite_file_was_never_migrated(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'qunke.db'}"
    _assert_one_clear_line(_qunke(url, "serve", "--port", str(free_port())), "run `qunke db upgrade` first")
    _assert_one_clear_line(_qunke(url, "events", "list"), "run `qunke db upgrade` first")
