"""`qunke user` as an operator runs it: add with --password-stdin, list, disable, password; all audited."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from storage.db import create_db_engine, make_sessionmaker
from storage.models.console import AuditEntry
from tests.support.console_world import client, login, running_console

REPO = Path(__file__).resolve().parents[2]


async def user(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QUNKE_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "bot", "user", *args]
    return await asyncio.to_thread(
        subprocess.run, command, cwd=REPO, env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


async def test_user_added_on_the_cli_logs_in_and_is_locked_out_when_disabled(database_url: str) -> None:
    async with running_console(database_url) as world:
        added = await user(
            database_url,
            "add",
            "wang",
            "--role",
            "manager",
            "--name",
            "王经理",
            "--password-stdin",
            stdin="pass-word-9\n",
        )
        assert added.returncode == 0, added.stderr
        listed = json.loads((await user(database_url, "list", "--json")).stdout)
        assert {"login": "wang", "role": "manager", "name": "王经理"}.items() <= next(
            u for u in listed if u["login"] == "wang"
        ).items()
        async with client() as http:
            assert (await login(http, world.base, "wang", "pass-word-9")).status == 302
            assert (await user(database_url, "disable", "wang")).returncode == 0
            async with http.get(f"{world.base}/console/", allow_redirects=False) as page:
                assert page.status == 302  # the open session ended with the account
        assert (await user(database_url, "enable", "wang")).returncode == 0
        assert (await user(database_url, "password", "wang", "--password-stdin", stdin="new-pass-99\n")).returncode == 0
        async with client() as http:
            assert (await login(http, world.base, "wang", "pass-word-9")).status == 401
            assert (await login(http, world.base, "wang", "new-pass-99")).status == 302
    engine = create_db_engine(database_url)
    async with make_sessionmaker(engine)() as session:
        actions = (await session.execute(select(AuditEntry.action).where(AuditEntry.target == "wang"))).scalars().all()
    await engine.dispose()
    assert {"user_add", "user_disable", "user_enable", "user_password"} <= set(actions)


async def test_user_add_is_refused_with_a_clear_line_when_the_input_is_bad(database_url: str) -> None:
    async with running_console(database_url):
        short = await user(database_url, "add", "x1", "--role", "admin", "--password-stdin", stdin="short\n")
        assert short.returncode == 1 and "密码至少需要 8 个字符" in short.stderr
        assert "Traceback" not in short.stderr
        rep = await user(database_url, "add", "rep9", "--role", "rep", "--password-stdin", stdin="long-enough-1\n")
        assert rep.returncode == 1 and "--userid" in rep.stderr
        role = await user(database_url, "add", "x2", "--role", "boss", "--password-stdin", stdin="long-enough-1\n")
        assert role.returncode == 1 and "角色" in role.stderr
        taken = await user(database_url, "add", "boss", "--role", "admin", "--password-stdin", stdin="long-enough-1\n")
        assert taken.returncode == 1 and "已存在" in taken.stderr
