"""`qunke campaign ...`, `followup ...`, `attribute import` and `report campaigns` as a user runs them."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from storage.db import create_db_engine, make_sessionmaker
from storage.models.customers import Customer, CustomerTag, Member
from tests.integration.test_cli import qunke

NOW = datetime.now(UTC)


async def test_campaign_commands_work_when_run_as_a_user_would(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "qunke.db"
    shutil.copy(sqlite_template, path)
    env = {"QUNKE_DATABASE_URL": f"sqlite+aiosqlite:///{path}", "QUNKE_CONFIG": str(tmp_path / "none.yaml")}
    (tmp_path / "none.yaml").write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    engine = create_db_engine(env["QUNKE_DATABASE_URL"])
    async with make_sessionmaker(engine)() as s, s.begin():
        s.add(Member(userid="lisi", name="李四"))
        s.add_all(
            Customer(id=i, external_userid=f"wm{i}", name=f"客户{i}", owner_userid="lisi", first_seen_at=NOW)
            for i in (1, 2)
        )
        await s.flush()
        s.add(CustomerTag(customer_id=1, userid="lisi", tag_id="t1", tag_name="VIP"))
    await engine.dispose()
    document = tmp_path / "c.yaml"
    document.write_text(
        "name: 双十二预热\nkind: broadcast\nfilter: {tags: {any: [VIP]}}\npath: mass_single\n"
        "message: '{{ name }}，会员专享价已开启，回复「退订」不再接收。'\nat: '2099-12-10T10:00'\n",
        encoding="utf-8",
    )
    broken = tmp_path / "bad.yaml"
    broken.write_text("name: 坏\nkind: weekly\npath: mass_single\nmessage: '{{ nick }}'\n", encoding="utf-8")
    attrs = tmp_path / "attrs.csv"
    attrs.write_text("customer,birthday\nwm1,1990-12-10\nwm9,1990-01-01\n", encoding="utf-8")

    dry = await qunke("campaign", "create", "--file", str(document), "--dry-run", "--json", env=env)
    created = await qunke("campaign", "create", "--file", str(document), env=env)
    refused = await qunke("campaign", "create", "--file", str(broken), env=env)
    listed = await qunke("campaign", "list", "--json", env=env)
    paused = await qunke("campaign", "pause", "双十二预热", env=env)
    again = await qunke("campaign", "pause", "双十二预热", env=env)
    shown = await qunke("campaign", "show", "1", "--json", env=env)
    report = await qunke("report", "campaigns", "--csv", env=env)
    followup = await qunke("followup", "add", "wm2", "回访", "--due", "2099-01-01 10:00", env=env)
    followups = await qunke("followup", "list", "--status", "待跟进", "--json", env=env)
    bad_status = await qunke("followup", "list", "--status", "whatever", env=env)
    imported = await qunke("attribute", "import", str(attrs), env=env)

    preview = json.loads(dry.stdout)
    assert dry.returncode == 0 and preview["dry_run"] and preview["audience_now"] == 1
    assert preview["previews"] == [
        {"customer_id": 1, "name": "客户1", "text": "客户1，会员专享价已开启，回复「退订」不再接收。"}
    ]
    assert created.returncode == 0 and "已创建活动 #1" in created.stdout and "逐条确认" in created.stdout
    assert refused.returncode == 1 and "kind:" in refused.stderr and "Traceback" not in refused.stderr
    assert [c["name"] for c in json.loads(listed.stdout)] == ["双十二预热"]
    assert paused.returncode == 0 and again.returncode == 1 and "不能 pause" in again.stderr
    assert json.loads(shown.stdout)["status"] == "paused"
    assert report.stdout.splitlines()[0].startswith("id,name,kind,path,status,runs,audience")
    assert followup.returncode == 0 and "已创建跟进 F1" in followup.stdout
    assert json.loads(followups.stdout)["total"] == 1 and bad_status.returncode == 1
    assert imported.returncode == 1 and "第 3 行" in imported.stderr and "wm9" in imported.stderr
