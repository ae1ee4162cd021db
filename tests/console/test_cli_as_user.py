"""`qunke ... --as-user`: a rep's CLI view equals their console view; another rep's customer is "not found"."""

from __future__ import annotations

import json
from pathlib import Path

from storage.models.campaigns import Followup
from tests.integration.test_cli import qunke
from tests.support.console_world import START, World, client, login, running_console


def _env(world_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "qunke.yaml"
    config.write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    return {"QUNKE_DATABASE_URL": world_url, "QUNKE_CONFIG": str(config)}


async def _console_names(world: World, user: str) -> set[str]:
    async with client() as http:
        await login(http, world.base, user)
        async with http.get(f"{world.base}/console/customers") as page:
            html = await page.text()
    return {name for name in ("王小明", "赵小红", "钱多多") if name in html}


async def _cli_names(env: dict[str, str], *extra: str) -> set[str]:
    done = await qunke("customer", "list", "--json", *extra, env=env)
    assert done.returncode == 0, done.stderr
    return {row["name"] for row in json.loads(done.stdout)}


async def test_a_reps_cli_lists_equal_their_console_view_when_run_as_that_user(
    database_url: str, tmp_path: Path
) -> None:
    async with running_console(database_url) as world:
        env = _env(database_url, tmp_path)
        console_view = await _console_names(world, "zhang")
        assert await _cli_names(env, "--as-user", "zhang") == console_view == {"王小明", "钱多多"}
        assert await _cli_names(env, "--as-user", "zhangsan") == {"王小明", "钱多多"}  # the WeCom userid works too
        assert await _cli_names(env) == await _console_names(world, "boss") == {"王小明", "赵小红", "钱多多"}
        tickets = await qunke("ticket", "list", "--as-user", "zhang", "--json", env=env)
        assert [t["subject"] for t in json.loads(tickets.stdout)] == ["物流太慢"]
        searched = await qunke("customer", "search", "赵", "--as-user", "zhang", "--json", env=env)
        assert json.loads(searched.stdout)["total"] == 0
        everyone = await qunke("customer", "search", "赵", "--json", env=env)
        assert [c["name"] for c in json.loads(everyone.stdout)["customers"]] == ["赵小红"]


async def test_another_reps_customer_and_ticket_are_not_found_when_run_as_a_rep(
    database_url: str, tmp_path: Path
) -> None:
    async with running_console(database_url) as world:
        env = _env(database_url, tmp_path)
        theirs = await qunke("customer", "show", str(world.li_customer), "--as-user", "zhang", env=env)
        missing = await qunke("customer", "show", "999999", "--as-user", "zhang", env=env)
        assert theirs.returncode == missing.returncode == 1
        assert theirs.stderr.replace(str(world.li_customer), "N") == missing.stderr.replace("999999", "N")
        assert "找不到客户" in theirs.stderr and "李四的客户的秘密消息" not in theirs.stdout
        shared = await qunke("customer", "show", str(world.shared_customer), "--as-user", "zhang", "--json", env=env)
        assert shared.returncode == 0 and json.loads(shared.stdout)["id"] == world.shared_customer
        ticket = await qunke("ticket", "show", f"T{world.li_ticket}", "--as-user", "zhang", env=env)
        assert ticket.returncode == 1 and f"没有找到工单 T{world.li_ticket}" in ticket.stderr
        report = await qunke("report", "service", "--as-user", "zhang", env=env)
        assert report.returncode == 1 and "仅限经理和管理员" in report.stderr and "Traceback" not in report.stderr
        async with world.sessions() as session, session.begin():
            for customer, rep, note in (
                (world.zhang_customer, "zhangsan", "回访王小明"),
                (world.li_customer, "lisi", "回访赵小红"),
            ):
                session.add(
                    Followup(customer_id=customer, member_userid=rep, due_at=START, note=note, created_at=START)
                )
        mine = await qunke("followup", "list", "--as-user", "zhang", "--json", env=env)
        assert [f["note"] for f in json.loads(mine.stdout)["followups"]] == ["回访王小明"]
        nobody = await qunke("customer", "list", "--as-user", "nobody", env=env)
        assert nobody.returncode == 1 and "--as-user" in nobody.stderr and "Traceback" not in nobody.stderr
