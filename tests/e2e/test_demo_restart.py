"""`qunke demo` started twice in a row in the same folder: the second run still answers kf and still reads groups."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import (
    QUNKE,
    REPO,
    Process,
    clean_env,
    deep_merge,
    http_json,
    http_text,
    run_cli,
    wait_for,
)
from tests.support.postgres import free_port

pytestmark = pytest.mark.e2e


class Demo:
    """`qunke demo --port P --sandbox-port Q` run from a folder of its own, as a newcomer runs `make demo`."""

    def __init__(self, root: Path) -> None:
        self.root, self.port, self.sandbox_port = root, free_port(), free_port()
        config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
        # The shipped config, with the KB found from this folder and the bot on its own port.
        deep_merge(config, {"server": {"port": self.port}, "faq": {"example_kb": str(REPO / "kb" / "example.yaml")}})
        (root / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        bot, sandbox = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.sandbox_port}"
        self.bot_url, self.sandbox_url = bot, sandbox
        self.env = {
            **clean_env(),
            "SANDBOX_ARCHIVE_NOTIFY_INTERVAL_S": "1",
            "SANDBOX_CALLBACK_URL": f"{bot}/wecom/callback",
            "SANDBOX_OA_CALLBACK_URL": f"{bot}/wechat/callback",
        }
        args = ["demo", "--port", str(self.port), "--sandbox-port", str(self.sandbox_port)]
        self.process = Process("demo", [*QUNKE, *args], self.env, root, root / "demo.log")

    def start(self) -> None:
        self.process.start()
        self.wait_for(lambda: _up(f"{self.bot_url}/healthz") and _up(f"{self.sandbox_url}/sandbox/state"), 120, "up")

    def stop(self) -> None:
        self.process.stop(signal.SIGINT, timeout=60)  # Ctrl-C: the demo stops the bot, then the sandbox

    def wait_for(self, probe: Any, timeout: float, what: str) -> Any:
        return wait_for(probe, timeout, f"the demo: {what}", [self.process])

    def customer(self, name: str) -> str:
        state = http_json("GET", f"{self.sandbox_url}/sandbox/state")
        return str(next(c["external_userid"] for c in state["customers"] if c["name"] == name))

    def group(self, name: str) -> str:
        state = http_json("GET", f"{self.sandbox_url}/sandbox/state")
        return str(next(g["chat_id"] for g in state["groups"] if g["name"] == name))

    def act(self, action: str, body: dict[str, Any]) -> None:
        assert http_json("POST", f"{self.sandbox_url}/sandbox/act/{action}", body).get("ok")

    def kf_replies(self, customer: str) -> list[str]:
        entries = http_json("GET", f"{self.sandbox_url}/sandbox/log?since=0")["entries"]
        return [e.get("content") or "" for e in entries if e["kind"] == "kf_send" and e.get("touser") == customer]

    def timeline_texts(self, customer: str) -> list[str]:
        """`qunke customer show` from the demo's folder: the same ./var database and ./config.yaml."""
        env = {k: v for k, v in self.env.items() if not k.startswith("SANDBOX_")}
        listed = run_cli(["customer", "list", "--json", "--limit", "1000"], env, self.root)
        ids = {row["external_userid"]: row["id"] for row in json.loads(listed.stdout or "[]")}
        if customer not in ids:
            return []
        shown = run_cli(["customer", "show", str(ids[customer]), "--json"], env, self.root)
        return [e.get("text") or "" for e in json.loads(shown.stdout)["timeline"]]


def _up(url: str) -> bool:
    try:
        return http_text(url, timeout=5)[0] == 200
    except OSError:
        return False


def test_kf_and_group_messages_still_work_when_the_demo_is_started_a_second_time(tmp_path: Path) -> None:
    demo = Demo(tmp_path)
    demo.start()
    try:
        lemon = demo.customer("Lemon柠檬")
        demo.act("kf-say", {"customer": lemon, "text": "发票怎么开"})
        demo.wait_for(lambda: demo.kf_replies(lemon), 60, "the first run's kf answer")
    finally:
        demo.stop()

    demo.start()
    try:
        demo.act("kf-say", {"customer": lemon, "text": "怎么退货"})
        demo.wait_for(lambda: len(demo.kf_replies(lemon)) >= 2, 90, "a kf answer in the second run")
        bloom, group = demo.customer("静待花开"), demo.group("2026秋季训练营1群")
        demo.act("say", {"in": group, "text": "第二次启动后在群里说一句", "as": bloom})
        demo.wait_for(
            lambda: "第二次启动后在群里说一句" in demo.timeline_texts(bloom), 120, "the group message on the timeline"
        )
    finally:
        demo.stop()
