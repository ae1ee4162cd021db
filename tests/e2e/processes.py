"""The black-box harness's parts below a stack: real processes, their logs and env, configs, HTTP and polling.

Nothing here imports the bot's packages (tests/e2e/test_import_guard.py checks it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

import yaml

REPO = Path(__file__).resolve().parents[2]
QUNKE = [sys.executable, "-m", "bot"]
ZONE = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")
Keys = tuple[Path, Path]  # the archive key pair: (private for the bot, public for the sandbox)


class Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


@dataclass(frozen=True)
class StackPlan(Generic[S]):
    """A stack a module needs: `build` starts it (and any slow timer) in a folder of its own; the session's pool
    runs every selected module's plans side by side (tests/e2e/conftest.py)."""

    key: str
    build: Callable[[Path, Keys], S]


# The demo corp's credentials: the sandbox seeds the same corp with the same values (see `qunke demo`).
DEMO_ENV = {
    "WECOM_CORP_ID": "ww5a1f0c9e2b7d4a31",
    "WECOM_SECRET": "qunke-demo-secret-0f3c9a7e5b",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_TOKEN": "QunkeDemoToken2026",
    "WECOM_AES_KEY": "yQu5ggX7NX1xmsAPW0EbgYJB67kkb5lfSee7YPbtkyQ",
    "WECHAT_OA_APPID": "wx02304e4415763465",
    "WECHAT_OA_SECRET": "693aff69f6b338c60e356b87d1550ef5",
    "WECHAT_OA_TOKEN": "QunkeOaToken2026",
    "WECHAT_OA_AES_KEY": "phyq3rkcKo3g0RipSy64LW7cKB2FM0SHtxygVJbqfiB",
    "WECOM_ARCHIVE_SECRET": "qunke-demo-archive-secret-7c41e2",
}
# Variables a developer's shell may set that would point a test process somewhere else.
_OWN_PREFIXES = ("QUNKE_", "WECOM_", "WECHAT_", "SANDBOX_")


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}


def run_cli(
    args: list[str], env: Mapping[str, str], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*QUNKE, *args], env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def make_archive_keys(folder: Path) -> tuple[Path, Path]:
    """What an admin does once: `qunke sandbox archive-keygen` (public key to WeCom, private key to the bot)."""
    result = run_cli(["sandbox", "archive-keygen", "--out", str(folder)], clean_env(), folder.parent)
    assert result.returncode == 0, result.stderr
    return folder / "archive_private.pem", folder / "archive_public.pem"


def deep_merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def fast_config(port: int, **changes: Any) -> dict[str, Any]:
    """The shipped config.yaml with timers short enough to watch them fire on the real clock."""
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    today = datetime.now(ZONE).date()
    # Every day is a working day, around the clock; today and tomorrow are declared workdays so a public
    # holiday on the day CI runs cannot stop the SLA clock.
    workdays = [{"date": str(today + timedelta(days=d)), "kind": "workday", "name": "e2e"} for d in (0, 1)]
    deep_merge(
        config,
        {
            "server": {"port": port},
            "ingest": {"poll_interval_s": 0.5, "backoff_base_s": 0.5, "backoff_max_s": 5},
            "archive": {"poll_interval_s": 5},
            "sender": {"backoff_base_s": 0.5, "backoff_max_s": 5},
            "service": {
                "managers": ["zhaoliu"],
                "on_duty": ["wangwu"],
                "business_hours": {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "23:59", "breaks": []},
                "holidays": workdays,
                "sla_policies": [
                    {"name": "default", "first_response_min": 0.4, "resolution_h": 0.015, "warn_before_min": 0.2}
                ],
                "escalation_levels": [],
                "escalate_every_min": 0.2,
                "tick_s": 1,
            },
            "tickets": {"close_interval_s": 2},
            "surveys": {"job_interval_s": 2},
            "churn": {"run_at": churn_time()},
            "faq": {"example_kb": str(REPO / "kb" / "example.yaml")},
        },
    )
    return deep_merge(config, changes)


def churn_time(lead_s: float = 120) -> str:
    """The first whole minute (HH:MM, Asia/Shanghai) at least `lead_s` from now: the bot must be up before it, and a
    loaded machine starting several stacks at once can take a minute or more."""
    at = datetime.now(ZONE) + timedelta(seconds=lead_s + 59)
    return at.strftime("%H:%M")


def http_json(method: str, url: str, body: Any = None, timeout: float = 30) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode())


def http_text(url: str, timeout: float = 30) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# The scheduler logs every run at INFO and the tests poll the sandbox's admin API: hide both in failure output.
_LOG_NOISE = ("apscheduler.executors", "GET /sandbox/state", "GET /sandbox/log", "/healthz", "/metrics")


class Process:
    """One long-running command with its output appended to a log file; stopped only through its own pid."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], cwd: Path, log: Path) -> None:
        self.name, self.args, self.env, self.cwd, self.log = name, args, dict(env), cwd, log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n===== {self.name} started {datetime.now().isoformat()} =====\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.args, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def exited(self) -> bool:
        """Started and then ended without being stopped by the harness."""
        return self.popen is not None and self.popen.poll() is not None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.popen = None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        kept = [line for line in text.splitlines() if not any(noise in line for noise in _LOG_NOISE)]
        return "\n".join(kept[-lines:])


def wait_for(
    probe: Callable[[], T | None], timeout: float, what: str, processes: list[Process], interval: float = 0.5
) -> T:
    """Poll `probe` until it returns something truthy; on timeout, or when a process died, fail with the last value
    observed and the tail of every process's log."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
        except (OSError, ValueError, KeyError, AssertionError) as error:
            last = f"{type(error).__name__}: {error}"
        else:
            if last:
                found: T = last
                return found
        dead = [p.name for p in processes if p.exited()]
        if dead or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    reason = f"{', '.join(dead)} exited" if dead else f"timed out after {timeout:g} s"
    logs = "".join(f"\n----- {p.name} log (tail) -----\n{p.tail()}" for p in processes)
    raise AssertionError(f"{reason} waiting for {what}\nlast observed: {str(last)[:3000]}{logs}")
