"""A second `qunke serve` on a SQLite file another process serves is refused at start with a clear message."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from storage.single_server import claim_sqlite_file
from tests.support.stack import DEMO

REPO = Path(__file__).resolve().parents[2]


async def test_serve_exits_with_a_clear_message_when_another_process_serves_the_sqlite_file(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'qunke.db'}"
    held = claim_sqlite_file(url)
    assert held is not None
    env = {
        **os.environ,
        "QUNKE_DATABASE_URL": url,
        "WECOM_API_BASE": "http://127.0.0.1:9",
        "WECOM_CORP_ID": DEMO.corp_id,
        "WECOM_AGENT_ID": str(DEMO.agent_id),
        "WECOM_SECRET": DEMO.secret,
        "WECOM_TOKEN": DEMO.token,
        "WECOM_AES_KEY": DEMO.aes_key,
    }
    command = [sys.executable, "-m", "bot", "serve", "--port", str(unused_tcp_port)]
    try:
        result = await asyncio.to_thread(
            subprocess.run, command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        os.close(held)
    assert result.returncode == 2
    assert "SQLite 只能由一个进程服务" in result.stderr and "Traceback" not in result.stderr
