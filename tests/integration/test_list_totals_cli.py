"""`qunke purchase list` and `qunke churn list` with --limit say how many there are in all, as the other lists do."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from services.churn.model import ChurnPolicy
from services.churn.warning import run_churn
from storage.db import create_db_engine, make_sessionmaker
from tests.integration.test_cli import qunke
from tests.support.churn_histories import generate, insert_generated


async def test_purchase_and_churn_lists_print_shown_and_total_when_limit_cuts_them(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "qunke.db"
    shutil.copy(sqlite_template, path)
    config = tmp_path / "none.yaml"
    config.write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    env = {"QUNKE_DATABASE_URL": f"sqlite+aiosqlite:///{path}", "QUNKE_CONFIG": str(config)}
    engine = create_db_engine(env["QUNKE_DATABASE_URL"])
    async with make_sessionmaker(engine)() as session, session.begin():
        await insert_generated(session, generate(["fading", "fading", "fading", "steady"], datetime.now(UTC)))
    await run_churn(make_sessionmaker(engine), datetime.now(UTC), ChurnPolicy())
    await engine.dispose()
    csv = tmp_path / "orders.csv"
    rows = "".join(f"P-{n},wm_gen_1,咖啡豆,9,2026-10-0{n}\n" for n in range(1, 4))
    csv.write_text("reference,customer,item,amount,purchased_at\n" + rows, encoding="utf-8")
    assert (await qunke("purchase", "import", str(csv), env=env)).returncode == 0

    purchases = await qunke("purchase", "list", "--limit", "2", env=env)
    purchases_json = json.loads((await qunke("purchase", "list", "--limit", "2", "--json", env=env)).stdout)
    at_risk = await qunke("churn", "list", "--limit", "1", env=env)
    at_risk_json = json.loads((await qunke("churn", "list", "--limit", "1", "--json", env=env)).stdout)

    assert "显示 2 / 共 3" in purchases.stdout, purchases.stdout + purchases.stderr
    assert purchases_json["total"] == 3 and [p["reference"] for p in purchases_json["purchases"]] == ["P-3", "P-2"]
    assert "显示 1 / 共 3" in at_risk.stdout, at_risk.stdout + at_risk.stderr
    assert at_risk_json["total"] == 3 and len(at_risk_json["customers"]) == 1
