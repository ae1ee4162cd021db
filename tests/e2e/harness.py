"""The black-box harness: `qunke sandbox serve` and `qunke serve` as real processes on free ports, driven as users do.

Nothing here imports the bot's packages (tests/e2e/test_import_guard.py checks it): the processes are started from
the command line, the bot is read through its CLI (`--json`) and HTTP (/healthz, /metrics), and the sandbox through
the HTTP admin API its own CLI and simulator page use.
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

from tests.support.postgres import free_port

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


class Stack:
    """A sandbox and a bot on free ports, with a config, a database and logs under one tmp folder."""

    def __init__(self, root: Path, keys: tuple[Path, Path], database_url: str = "", **config: Any) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.bot_port, self.sandbox_port = free_port(), free_port()
        self.bot_url = f"http://127.0.0.1:{self.bot_port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.database_url = database_url or f"sqlite+aiosqlite:///{root / 'qunke.db'}"
        self.config_path = root / "config.yaml"
        self.config = fast_config(self.bot_port, **config)
        self.config_path.write_text(yaml.safe_dump(self.config, allow_unicode=True), encoding="utf-8")
        private, public = keys
        self.env = {
            **clean_env(),
            **DEMO_ENV,
            "QUNKE_CONFIG": str(self.config_path),
            "QUNKE_DATABASE_URL": self.database_url,
            "QUNKE_ARCHIVE_PRIVATE_KEYS": f"1={private}",
            "WECOM_API_BASE": self.sandbox_url,
            "WECHAT_API_BASE": f"{self.sandbox_url}/oa",
            "SANDBOX_URL": self.sandbox_url,
            "SANDBOX_ARCHIVE_PUBLIC_KEY": str(public),
            "SANDBOX_ARCHIVE_KEY_VERSION": "1",
            "SANDBOX_ARCHIVE_NOTIFY_INTERVAL_S": "1",
            "SANDBOX_STATE_FILE": str(root / "sandbox-state.json"),
            # Only ever this test's bot: never the developer's on 8080.
            "SANDBOX_CALLBACK_URL": f"{self.bot_url}/wecom/callback",
            "SANDBOX_OA_CALLBACK_URL": f"{self.bot_url}/wechat/callback",
        }
        sandbox_args = [*QUNKE, "sandbox", "serve", "--port", str(self.sandbox_port)]
        self.sandbox = Process("sandbox", sandbox_args, self.env, root, root / "sandbox.log")
        self.bot = Process("bot", [*QUNKE, "serve", "--port", str(self.bot_port)], self.env, root, root / "bot.log")
        self._ids: dict[str, int] = {}

    # ---- life cycle ----------------------------------------------------------------------------------------------

    def start(self) -> Stack:
        """Migrate, start the sandbox, then the bot; on failure stop whatever started."""
        try:
            self.cli("db", "upgrade")
            self.start_sandbox()
            self.start_bot()
        except BaseException:
            self.stop()
            raise
        return self

    def start_sandbox(self) -> None:
        self.sandbox.start()
        self.wait_for(lambda: self._up(f"{self.sandbox_url}/sandbox/state"), 90, "the sandbox to answer")

    def start_bot(self) -> None:
        self.bot.start()
        self.wait_for(lambda: self._up(f"{self.bot_url}/healthz"), 90, "the bot's /healthz to answer 200")

    def stop(self) -> None:
        self.bot.stop()
        self.sandbox.stop()

    def _up(self, url: str) -> bool:
        try:
            return http_text(url, timeout=5)[0] == 200
        except OSError:
            return False

    # ---- waiting -------------------------------------------------------------------------------------------------

    def wait_for(self, probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5) -> T:
        return wait_for(probe, timeout, what, [self.bot, self.sandbox], interval)

    # ---- the bot, through its CLI and HTTP -----------------------------------------------------------------------

    def cli(self, *args: str) -> str:
        result = run_cli(list(args), self.env, self.root)
        if result.returncode != 0:
            raise AssertionError(f"`qunke {' '.join(args)}` exited {result.returncode}: {result.stderr[-2000:]}")
        return result.stdout

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json"))

    def healthz(self) -> dict[str, Any]:
        status, body = http_text(f"{self.bot_url}/healthz")
        payload: dict[str, Any] = json.loads(body)
        payload["http_status"] = status
        return payload

    def metrics(self) -> str:
        return http_text(f"{self.bot_url}/metrics")[1]

    def customers(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.cli_json("customer", "list", "--limit", "1000")
        return result

    def customer_id(self, external_userid: str) -> int:
        """The bot's id for a customer, waiting for the bot to have imported them."""
        if external_userid not in self._ids:

            def lookup() -> int | None:
                for row in self.customers():
                    self._ids[row["external_userid"]] = row["id"]
                return self._ids.get(external_userid)

            self.wait_for(lookup, 60, f"customer {external_userid} in `qunke customer list`")
        return self._ids[external_userid]

    def timeline(self, external_userid: str) -> list[dict[str, Any]]:
        shown = self.cli_json("customer", "show", str(self.customer_id(external_userid)))
        result: list[dict[str, Any]] = shown["timeline"]
        return result

    def tickets(self, customer_name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.cli_json("ticket", "list")
        return [row for row in rows if row["customer_name"] == customer_name]

    def outbox_pending(self, kind: str) -> list[dict[str, Any]]:
        """Outbox rows of this kind still to be sent (queued, deferred or being sent)."""
        rows: list[dict[str, Any]] = self.cli_json("outbox", "list", "--kind", kind, "--limit", "500")
        return [row for row in rows if row["status"] in ("queued", "deferred", "sending")]

    # ---- the sandbox: what customers and reps do, and what the bot sent ------------------------------------------

    def act(self, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = http_json("POST", f"{self.sandbox_url}/sandbox/act/{action}", dict(body))
        assert result.get("ok"), result
        return result

    def kf_say(self, external_userid: str, text: str) -> dict[str, Any]:
        return self.act("kf-say", {"customer": external_userid, "text": text})

    def group_say(self, external_userid: str, chat_id: str, text: str) -> dict[str, Any]:
        return self.act("say", {"in": chat_id, "text": text, "as": external_userid})

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = http_json("GET", f"{self.sandbox_url}/sandbox/state")
        return result

    def external_userid(self, name: str) -> str:
        return str(next(c["external_userid"] for c in self.state()["customers"] if c["name"] == name))

    def group_id(self, name: str) -> str:
        return str(next(g["chat_id"] for g in self.state()["groups"] if g["name"] == name))

    def kf_session(self, external_userid: str) -> dict[str, Any] | None:
        for account in self.state()["kf_accounts"]:
            for session in account["sessions"]:
                if session["external_userid"] == external_userid:
                    result: dict[str, Any] = session
                    return result
        return None

    def log(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = http_json("GET", f"{self.sandbox_url}/sandbox/log?since=0")["entries"]
        return result

    def kf_sent(self, external_userid: str) -> list[dict[str, Any]]:
        """What the bot sent this customer in kf (texts and menus)."""
        return [e for e in self.log() if e["kind"] == "kf_send" and e.get("touser") == external_userid]

    def app_messages(self, userid: str, containing: str = "") -> list[str]:
        """The private app messages the bot sent a rep, optionally only those mentioning `containing`."""
        return [
            e["content"]
            for e in self.log()
            if e["kind"] == "app_message" and e.get("userid") == userid and containing in (e.get("content") or "")
        ]
