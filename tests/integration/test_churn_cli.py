"""`qunke purchase ...` and `qunke churn ...` as a user runs them: separate processes over one SQLite file."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from storage.db import create_db_engine, make_sessionmaker
from storage.models.outbox import Outbox
from tests.integration.test_cli import qunke
from tests.support.churn_histories import generate, insert_generated


async def test_purchase_import_list_and_churn_run_list_work_from_the_command_line(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "qunke.db"
    shutil.copy(sqlite_template, path)
    env = {"QUNKE_DATABASE_URL": f"sqlite+aiosqlite:///{path}", "QUNKE_CONFIG": str(tmp_path / "none.yaml")}
    (tmp_path / "none.yaml").write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    engine = create_db_engine(env["QUNKE_DATABASE_URL"])
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await insert_generated(session, generate(["fading", "steady"], datetime.now(UTC)))
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "reference,customer,item,amount,purchased_at\nP-1,wm_gen_2,咖啡豆,99,2026-10-01\nP-2,nobody,咖啡豆,9,2026-10-02\n",
        encoding="utf-8",
    )

    refused = await qunke("purchase", "import", str(csv), env=env)
    csv.write_text("reference,customer,item,amount,purchased_at\nP-1,wm_gen_2,咖啡豆,99,2026-10-01\n", encoding="utf-8")
    imported = await qunke("purchase", "import", str(csv), "--json", env=env)
    listed = await qunke("purchase", "list", "--customer", "2", "--json", env=env)
    ran = await qunke("churn", "run", "--json", env=env)
    again = await qunke("churn", "run", env=env)
    at_risk = await qunke("churn", "list", "--json", env=env)
    readable = await qunke("churn", "list", env=env)

    assert refused.returncode == 1 and "第 3 行" in refused.stderr and "nobody" in refused.stderr
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["added"] == 1
    assert [p["reference"] for p in json.loads(listed.stdout)["purchases"]] == ["P-1"]
    assert json.loads(ran.stdout) == {"scored": 2, "at_risk": 1, "crossed": 1, "alerted": 1, "not_alerted": 0}
    assert again.returncode == 0 and "新超过阈值 0 位" in again.stdout
    rows = json.loads(at_risk.stdout)["customers"]
    assert [r["customer_id"] for r in rows] == [1]
    assert rows[0]["reasons"] == ["近30天没有发言（以往每30天约10条）"] and rows[0]["alerted_at"]
    assert "近30天没有发言" in readable.stdout
    async with sessions() as session:
        queued = (await session.execute(select(Outbox))).scalars().all()
    await engine.dispose()
    assert len(queued) == 1 and queued[0].recipient == "zhangsan"
