"""The bot as a real separate process (`python -m bot serve`), for crash and restart tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.support.stack import ARCHIVE_SECRET, DEMO, archive_key_files

REPO = Path(__file__).resolve().parents[2]


def start_bot(database_url: str, sandbox_url: str, port: int, failpoints: str = "") -> subprocess.Popen[bytes]:
    private, _ = archive_key_files()
    env = {
        **os.environ,
        "QUNKE_DATABASE_URL": database_url,
        "WECOM_API_BASE": sandbox_url,
        "WECOM_CORP_ID": DEMO.corp_id,
        "WECOM_SECRET": DEMO.secret,
        "WECOM_TOKEN": DEMO.token,
        "WECOM_AES_KEY": DEMO.aes_key,
        "WECOM_ARCHIVE_SECRET": ARCHIVE_SECRET,
        "QUNKE_ARCHIVE_PRIVATE_KEYS": f"1={private}",
        "QUNKE_FAILPOINTS": failpoints,
    }
    command = [sys.executable, "-m", "bot", "serve", "--port", str(port)]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_healthy(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"bot at {url} did not become healthy")


async def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 20)
