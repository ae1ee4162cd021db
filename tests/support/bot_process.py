"""The bot as a real separate process (`python -m bot serve`), for tests that kill it and start it again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

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


def write_config(path: Path, **sections: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(sections), encoding="utf-8")
    return path


class BotProcess:
    def __init__(self, database_url: str, sandbox_url: str, port: int, config: Path, log: Path) -> None:
        self.database_url, self.sandbox_url, self.port, self.config, self.log = (
            database_url,
            sandbox_url,
            port,
            config,
            log,
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self, failpoints: str = "") -> None:
        env = {
            **os.environ,
            "QUNKE_CONFIG": str(self.config),
            "QUNKE_DATABASE_URL": self.database_url,
            "WECOM_API_BASE": self.sandbox_url,
            "WECOM_CORP_ID": DEMO.corp_id,
            "WECOM_AGENT_ID": str(DEMO.agent_id),
            "WECOM_SECRET": DEMO.secret,
            "WECOM_TOKEN": DEMO.token,
            "WECOM_AES_KEY": DEMO.aes_key,
            "QUNKE_FAILPOINTS": failpoints,
        }
        command = [sys.executable, "-m", "bot", "serve", "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)

    async def wait_healthy(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.process is not None and self.process.poll() is None, self.tail()
                try:
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"bot did not become healthy:\n{self.tail()}")

    async def exited(self, seconds: float) -> int:
        assert self.process is not None
        code = await asyncio.to_thread(self.process.wait, seconds)
        return int(code)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no drain, as a power cut or an OOM kill would stop it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(self.process.wait, 30)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""
