"""`qunke ticket open|list|show|claim|solve|close` as a user runs them, over the same database as `serve`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from storage.db import create_db_engine
from tests.handlers.service_support import Harness
from tests.integration.test_cli import qunke


async def test_open_list_claim_solve_show_and_refusals(sqlite_template: Path, tmp_path: Path) -> None:
    # SQLite only: each command is a process start, and the services below are tested on PostgreSQL elsewhere.
    shutil.copy(sqlite_template, tmp_path / "qunke.db")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'qunke.db'}"
    engine = create_db_engine(database_url)
    try:
        await Harness(engine).customer("wmCLI", owner="lisi", name="命令行客户")
    finally:
        await engine.dispose()
    env = {"QUNKE_DATABASE_URL": database_url}

    opened = await qunke("ticket", "open", "wmCLI", "电话回访：发票抬头写错了", "--priority", "high", "--json", env=env)
    assert opened.returncode == 0, opened.stderr
    ticket = json.loads(opened.stdout)
    assert ticket["ref"] == f"T{ticket['id']}" and ticket["assignee"] == "lisi"
    ref = ticket["ref"]

    listed = json.loads((await qunke("ticket", "list", "--status", "open", "--json", env=env)).stdout)
    assert [(t["ref"], t["priority"], t["source"], t["customer_name"]) for t in listed] == [
        (ref, "high", "manual", "命令行客户")
    ]

    refused = await qunke("ticket", "solve", ref, "--by", "wangwu", env=env)
    assert refused.returncode == 1 and "不是你的" in refused.stderr and "not_yours" in refused.stderr
    claimed = await qunke("ticket", "claim", ref, "--by", "wangwu", env=env)
    assert claimed.returncode == 0 and "wangwu 已认领" in claimed.stdout
    solved = await qunke("ticket", "solve", str(ticket["id"]), "--by", "wangwu", env=env)
    assert solved.returncode == 0, solved.stderr
    assert solved.stdout.strip() == f"工单 {ref} 已解决，已向客户发送满意度评价"  # the customer's kf window is open

    shown = json.loads((await qunke("ticket", "show", ref, "--json", env=env)).stdout)
    assert shown["ticket"]["status"] == "solved" and shown["ticket"]["assignee"] == "wangwu"
    assert [e["kind"] for e in shown["events"]] == ["opened", "claimed", "solved"]
    assert (await qunke("ticket", "close", ref, env=env)).returncode == 0
    again = await qunke("ticket", "close", ref, env=env)
    assert again.returncode == 1 and "已关闭" in again.stderr
    nobody = await qunke("ticket", "open", "wmNOBODY", "x", env=env)
    assert nobody.returncode == 1 and "找不到客户「wmNOBODY」" in nobody.stderr
