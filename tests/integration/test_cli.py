"""The qunke CLI as a user runs it: a separate process over the same database and environment as `serve`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.stack import Stack

REPO = Path(__file__).resolve().parents[2]


async def qunke(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot", *args]
    full_env = {**os.environ, **(env or {})}
    return await asyncio.to_thread(
        subprocess.run, command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60
    )


async def test_customer_show_json_lists_profile_and_timeline_newest_last_when_customer_has_history(
    stack: Stack,
) -> None:
    state = await stack.sandbox_state()
    candy = next(c for c in state["customers"] if c["name"] == "糖糖🍬")["external_userid"]
    group = state["groups"][0]
    await stack.act("add-contact", customer=candy, member="zhangsan", state="live")
    await stack.settle()
    await asyncio.sleep(1.1)  # the next fact lands in a later second
    await stack.act("join-group", customer=candy, group=group["chat_id"], scene="qr")
    await stack.settle()

    listed = await qunke("customer", "list", "--json", env={"QUNKE_DATABASE_URL": stack.database_url})
    assert listed.returncode == 0, listed.stderr
    customers: list[dict[str, Any]] = json.loads(listed.stdout)
    customer_id = next(c["id"] for c in customers if c["external_userid"] == candy)

    shown = await qunke("customer", "show", str(customer_id), "--json", env={"QUNKE_DATABASE_URL": stack.database_url})
    assert shown.returncode == 0, shown.stderr
    profile = json.loads(shown.stdout)
    assert profile["name"] == "糖糖🍬" and profile["owner_userid"] == "zhangsan"
    assert [t["kind"] for t in profile["timeline"]] == ["added_member", "joined_group"]
    assert profile["timeline"][-1]["text"] == f"扫码加入群「{group['name']}」"

    readable = await qunke("customer", "show", str(customer_id), env={"QUNKE_DATABASE_URL": stack.database_url})
    assert "扫码加入群" in readable.stdout and "张三" in readable.stdout


async def test_events_list_json_shows_type_key_time_and_status_when_callbacks_arrived(stack: Stack) -> None:
    state = await stack.sandbox_state()
    candy = next(c for c in state["customers"] if c["name"] == "糖糖🍬")["external_userid"]
    await stack.act("add-contact", customer=candy, member="lisi")
    await stack.settle()

    result = await qunke("events", "list", "--json", env={"QUNKE_DATABASE_URL": stack.database_url})
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)
    assert [(e["type"], e["status"]) for e in events] == [("change_external_contact/add_external_contact", "done")]
    assert events[0]["dedupe_key"].startswith("sys:") and events[0]["received_at"]


async def test_customer_show_fails_clearly_when_id_is_unknown(stack: Stack) -> None:
    result = await qunke("customer", "show", "999", env={"QUNKE_DATABASE_URL": stack.database_url})
    assert result.returncode == 1
    assert "找不到客户「999」" in result.stderr and "Traceback" not in result.stderr


async def test_config_error_names_the_key_when_config_has_an_unknown_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("server:\n  prot: 9000\n", encoding="utf-8")
    result = await qunke("events", "list", env={"QUNKE_CONFIG": str(config)})
    assert result.returncode == 2
    assert "server.prot: unknown key" in result.stderr


async def test_serve_names_missing_secrets_when_environment_lacks_them(tmp_path: Path) -> None:
    env = {k: "" for k in ("WECOM_CORP_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")}
    env["QUNKE_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/q.db"
    result = await qunke("serve", env=env)
    assert result.returncode == 2
    assert "WECOM_CORP_ID, WECOM_SECRET, WECOM_TOKEN, WECOM_AES_KEY" in result.stderr


async def test_db_upgrade_creates_a_wal_database_when_file_is_new(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "fresh" / "qunke.db"
    result = await qunke("db", "upgrade", env={"QUNKE_DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"customers", "members", "groups", "group_members", "inbound_events", "customer_events"} <= tables
