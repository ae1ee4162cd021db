"""`qunke` as a person runs it: separate processes in their own working directory, with a clean environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Variables a developer's shell (or a demo) may export; a test process starts without them so it sees only its own.
_OWN_PREFIXES = ("QUNKE_", "WECOM_", "WECHAT_", "SANDBOX_")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    return {**env, "COLUMNS": "200", **extra}


def qunke(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot", *args]
    return subprocess.run(command, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout)


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def running_demo(cwd: Path, port: int, sandbox_port: int) -> Iterator[subprocess.Popen[str]]:
    """`qunke demo --port P --sandbox-port Q` in `cwd` (its own var/), stopped with Ctrl-C at the end."""
    log = (cwd / "demo.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--port", str(port), "--sandbox-port", str(sandbox_port)],
        cwd=cwd,
        env=clean_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
