"""The sandbox and the bot as two real processes on free ports with a fresh SQLite file, like `qunke demo`.

Used by the browser tests; `python -m tests.support.live_demo DIR` starts one by hand and prints its URLs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bot.cli.run import DEMO_ENV, DEMO_OA_ENV, demo_archive_keys
from storage.migrate import upgrade
from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass
class LiveDemo:
    sandbox_url: str
    bot_url: str
    database_url: str
    folder: Path
    processes: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)

    def log_text(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _environment(folder: Path, bot_port: int, sandbox_port: int, database_url: str) -> dict[str, str]:
    private, public = demo_archive_keys(folder / "archive")
    sandbox_url, bot_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{bot_port}"
    return {
        **os.environ,
        **DEMO_ENV,
        **DEMO_OA_ENV,
        "QUNKE_DATABASE_URL": database_url,
        "WECOM_API_BASE": sandbox_url,
        "WECHAT_API_BASE": f"{sandbox_url}/oa",
        "QUNKE_ARCHIVE_PRIVATE_KEYS": f"1={private}",
        "SANDBOX_ARCHIVE_PUBLIC_KEY": str(public),
        "SANDBOX_ARCHIVE_KEY_VERSION": "1",
        "SANDBOX_STATE_FILE": str(folder / "sandbox-state.json"),  # a fresh corp for each demo, not ./var's
        "SANDBOX_CALLBACK_URL": f"{bot_url}/wecom/callback",
        "SANDBOX_OA_CALLBACK_URL": f"{bot_url}/wechat/callback",
        # No chaos: a page test waits for one answer, not for a retried or duplicated one.
        "SANDBOX_DUPLICATE_RATE": "0",
        "SANDBOX_LATE_RATE": "0",
        "SANDBOX_RETRY_INTERVAL_S": "0.2",
    }


def _wait_up(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {seconds} s")


def start_live_demo(folder: Path) -> LiveDemo:
    """Sandbox first (the bot syncs from it on start), then the bot; both log into files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite+aiosqlite:///{folder / 'qunke.db'}"
    upgrade(database_url)
    bot_port, sandbox_port = free_port(), free_port()
    env = _environment(folder, bot_port, sandbox_port, database_url)
    demo = LiveDemo(f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{bot_port}", database_url, folder, [])
    commands = {
        "sandbox": [sys.executable, "-m", "sandbox", "serve", "--port", str(sandbox_port)],
        "bot": [sys.executable, "-m", "bot", "serve", "--port", str(bot_port)],
    }
    try:
        for name, command in commands.items():
            log = folder / f"{name}.log"
            with log.open("ab") as out:
                process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            demo.processes.append(process)
            url = f"{demo.sandbox_url}/sandbox/state" if name == "sandbox" else f"{demo.bot_url}/healthz"
            _wait_up(url, process, log)
    except BaseException:
        demo.stop()
        raise
    return demo


if __name__ == "__main__":
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    live = start_live_demo(Path(sys.argv[1]))
    # Held for sigwait, so the children are stopped too; blocked only now, as children inherit the mask.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    print(f"sandbox {live.sandbox_url}/sandbox/  bot {live.bot_url}", flush=True)
    try:
        signal.sigwait(stop_signals)
    finally:
        live.stop()
