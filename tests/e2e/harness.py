"""The black-box harness: `qunke sandbox serve` and `qunke serve` as real processes on free ports, driven as users do.

Nothing here imports the bot's packages (tests/e2e/test_import_guard.py checks it): the processes are started from
the command line, the bot is read through its CLI (`--json`) and HTTP (/healthz, /metrics), and the sandbox through
the HTTP admin API its own CLI and simulator page use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.processes import (
    DEMO_ENV as DEMO_ENV,
)
from tests.e2e.processes import (
    QUNKE as QUNKE,
)
from tests.e2e.processes import (
    REPO as REPO,
)
from tests.e2e.processes import (
    ZONE as ZONE,
)
from tests.e2e.processes import (
    Keys as Keys,
)
from tests.e2e.processes import (
    Process as Process,
)
from tests.e2e.processes import (
    StackPlan as StackPlan,
)
from tests.e2e.processes import (
    Stoppable as Stoppable,
)
from tests.e2e.processes import (
    T as T,
)
from tests.e2e.processes import (
    churn_time as churn_time,
)
from tests.e2e.processes import (
    clean_env as clean_env,
)
from tests.e2e.processes import (
    deep_merge as deep_merge,
)
from tests.e2e.processes import (
    fast_config as fast_config,
)
from tests.e2e.processes import (
    http_json as http_json,
)
from tests.e2e.processes import (
    http_text as http_text,
)
from tests.e2e.processes import (
    make_archive_keys as make_archive_keys,
)
from tests.e2e.processes import (
    run_cli as run_cli,
)
from tests.e2e.processes import (
    wait_for as wait_for,
)
from tests.support.postgres import free_port


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
