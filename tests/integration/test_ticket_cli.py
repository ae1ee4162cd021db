"""`qunke ticket open|list|show|claim|solve|close|reply` as a user runs them, over the same database as `serve`."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_db_engine, make_sessionmaker
from storage.models.customers import Member
from storage.models.outbox import OaWindow, Outbox, OutboxKind
from storage.models.tickets import Ticket
from tests.handlers.service_support import Harness
from tests.integration.test_cli import qunke


async def _members(engine: AsyncEngine, *userids: str) -> None:
    """The directory as WeCom's sync leaves it: `--by` names must be members."""
    async with make_sessionmaker(engine)() as session, session.begin():
        session.add_all(Member(userid=u, name=u) for u in userids)


async def test_open_list_claim_solve_show_and_refusals(sqlite_template: Path, tmp_path: Path) -> None:
    # SQLite only: each command is a process start, and the services below are tested on PostgreSQL elsewhere.
    shutil.copy(sqlite_template, tmp_path / "qunke.db")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'qunke.db'}"
    engine = create_db_engine(database_url)
    try:
        await Harness(engine).customer("wmCLI", owner="lisi", name="命令行客户")
        await _members(engine, "lisi", "wangwu")
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
    # The customer has no kf or OA window, so the survey is a note asking the rep to invite a score.
    assert solved.stdout.strip() == f"工单 {ref} 已解决，已提醒负责人邀请客户评分（机器人无法在群聊或单聊发言）"

    shown = json.loads((await qunke("ticket", "show", ref, "--json", env=env)).stdout)
    assert shown["ticket"]["status"] == "solved" and shown["ticket"]["assignee"] == "wangwu"
    assert [e["kind"] for e in shown["events"]] == ["opened", "claimed", "solved"]
    assert (await qunke("ticket", "close", ref, env=env)).returncode == 0
    again = await qunke("ticket", "close", ref, env=env)
    assert again.returncode == 1 and "已关闭" in again.stderr
    nobody = await qunke("ticket", "open", "wmNOBODY", "x", env=env)
    assert nobody.returncode == 1 and "找不到客户「wmNOBODY」" in nobody.stderr


async def test_ticket_commands_refuse_unknown_values_in_one_line_when_given_a_bad_status_or_member(
    sqlite_template: Path, tmp_path: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "qunke.db")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'qunke.db'}"
    engine = create_db_engine(database_url)
    try:
        harness = Harness(engine)
        for n in range(3):
            await harness.customer(f"wmCLI{n}", owner="lisi", name=f"客户{n}")
        await _members(engine, "lisi")
    finally:
        await engine.dispose()
    env = {"QUNKE_DATABASE_URL": database_url, "COLUMNS": "200"}
    for n in range(3):
        assert (await qunke("ticket", "open", f"wmCLI{n}", f"问题{n}", env=env)).returncode == 0

    chinese = await qunke("ticket", "list", "--status", "处理中", "--json", env=env)
    assert chinese.returncode == 0 and len(json.loads(chinese.stdout)) == 3
    limited = await qunke("ticket", "list", "--status", "open", "--limit", "2", env=env)
    assert "显示 2 / 共 3 条" in limited.stdout

    bogus = await qunke("ticket", "list", "--status", "bogus", env=env)
    assert bogus.returncode == 2 and len(bogus.stderr.strip().splitlines()) == 1
    assert "bogus" in bogus.stderr and "open（处理中）" in bogus.stderr and "Traceback" not in bogus.stderr
    for args in (
        ("events", "list", "--status", "nope"),
        ("outbox", "list", "--kind", "nope"),
        ("task", "list", "--status", "nope"),
    ):
        refused = await qunke(*args, env=env)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr

    nobody = await qunke("ticket", "claim", "T1", "--by", "nobody", env=env)
    assert nobody.returncode == 1 and len(nobody.stderr.strip().splitlines()) == 1
    assert "没有成员「nobody」" in nobody.stderr
    unknown_assignee = await qunke("ticket", "open", "wmCLI0", "x", "--assignee", "nobody", env=env)
    assert unknown_assignee.returncode == 1 and "nobody" in unknown_assignee.stderr

    version = await qunke("--version", env=env)
    assert version.returncode == 0 and version.stdout.startswith("qunke ")


async def test_ticket_show_prints_one_timeline_in_the_configured_zone_when_a_ticket_has_history(
    sqlite_template: Path, tmp_path: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "qunke.db")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'qunke.db'}"
    engine = create_db_engine(database_url)
    try:
        await Harness(engine).customer("wmCLI", owner="lisi", name="命令行客户")
        await _members(engine, "lisi", "wangwu")
    finally:
        await engine.dispose()
    env = {"QUNKE_DATABASE_URL": database_url, "COLUMNS": "200"}
    opened = json.loads((await qunke("ticket", "open", "wmCLI", "发票", "--json", env=env)).stdout)
    assert (await qunke("ticket", "claim", opened["ref"], "--by", "wangwu", env=env)).returncode == 0
    shown = json.loads((await qunke("ticket", "show", opened["ref"], "--json", env=env)).stdout)

    readable = (await qunke("ticket", "show", opened["ref"], env=env)).stdout
    timeline = [line.strip() for line in readable.splitlines()[2:]]
    assert [line.split("  ")[1] for line in timeline] == ["开单", "认领"]
    at = datetime.fromisoformat(shown["events"][0]["at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert timeline[0].startswith(at.strftime("%Y-%m-%d %H:%M:%S"))
    assert "opened" not in readable and "T" not in timeline[0][:19]


async def test_reply_sends_to_the_oa_follower_in_the_members_name_and_refuses_what_cannot_go(
    sqlite_template: Path, tmp_path: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "qunke.db")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'qunke.db'}"
    engine = create_db_engine(database_url)
    now = datetime.now(ZoneInfo("UTC"))
    try:
        customer = await Harness(engine).customer("wmOA", owner="lisi", name="公众号客户")
        await _members(engine, "lisi", "wangwu")
        async with make_sessionmaker(engine)() as session, session.begin():
            oa = Ticket(
                customer_id=customer.id,
                subject="转人工：客户要求人工服务",
                source="handoff",
                assignee_userid="lisi",
                channel="oa",
                chat_id="oa:oCLI",
                opened_at=now,
                updated_at=now,
            )
            kf = Ticket(
                customer_id=customer.id, subject="物流", channel="kf", chat_id="wk", opened_at=now, updated_at=now
            )
            session.add_all([oa, kf])
            session.add(OaWindow(openid="oCLI", window_kind="message", opened_at=now - timedelta(hours=1), sends=0))
        oa_ref, kf_ref = f"T{oa.id}", f"T{kf.id}"
    finally:
        await engine.dispose()
    env = {"QUNKE_DATABASE_URL": database_url}

    sent = await qunke("ticket", "reply", oa_ref, "您好，已为您加急。", "--by", "lisi", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "已通过公众号把你的回复发给「公众号客户」" in sent.stdout and "还可回复 4 条" in sent.stdout

    not_theirs = await qunke("ticket", "reply", oa_ref, "我也说一句", "--by", "wangwu", env=env)
    assert not_theirs.returncode == 1 and "不是你的" in not_theirs.stderr and "not_sent" in not_theirs.stderr
    elsewhere = await qunke("ticket", "reply", kf_ref, "您好", "--by", "lisi", env=env)
    assert elsewhere.returncode == 1 and "微信客服" in elsewhere.stderr
    nobody = await qunke("ticket", "reply", oa_ref, "您好", "--by", "nobody", env=env)
    assert nobody.returncode == 1 and "no_member" in nobody.stderr

    engine = create_db_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = (await session.execute(select(Outbox).where(Outbox.kind == OutboxKind.OA_MESSAGE))).scalars().all()
    finally:
        await engine.dispose()
    assert [(r.recipient, r.payload["content"], r.payload["by_member"]) for r in rows] == [
        ("oCLI", "您好，已为您加急。", "lisi")
    ]
