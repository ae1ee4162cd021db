"""RFM: the eight tiers by R/F/M above or below the median, quintile scores, 未购客户, and the CLI as a user runs it."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from campaigns.rfm import Reading, _Rank, run_rfm, score
from storage.db import create_db_engine, make_sessionmaker
from storage.models.customers import Customer
from storage.models.purchases import Purchase
from tests.integration.test_cli import qunke

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


def test_tier_is_important_value_when_recent_frequent_and_big() -> None:
    readings = [Reading(1, 3, 9, 90000), Reading(2, 200, 1, 1000), Reading(3, 100, 2, 5000), Reading(4, 50, 1, 900)]
    ranks = (
        _Rank([r.recency_days or 0 for r in readings], higher_is_better=False),
        _Rank([r.frequency for r in readings], higher_is_better=True),
        _Rank([r.monetary_cents for r in readings], higher_is_better=True),
    )
    assert score(readings[0], ranks) == (4, 4, 4, "重要价值客户")
    assert score(readings[1], ranks)[3] == "一般挽留客户"
    assert score(readings[2], ranks)[3] == "重要保持客户"  # not recent, but bought twice and spent more than most
    assert score(readings[3], ranks)[3] == "一般发展客户"  # recent, one small order


def test_nobody_is_high_on_frequency_when_everyone_bought_once() -> None:
    readings = [Reading(i, i, 1, 100 * i) for i in range(1, 7)]
    ranks = (
        _Rank([r.recency_days or 0 for r in readings], higher_is_better=False),
        _Rank([r.frequency for r in readings], higher_is_better=True),
        _Rank([r.monetary_cents for r in readings], higher_is_better=True),
    )
    assert {score(r, ranks)[1] for r in readings} == {1}
    assert all("保持" not in score(r, ranks)[3] and "价值" not in score(r, ranks)[3] for r in readings)


async def test_run_scores_every_customer_and_replaces_the_last_run_when_run_again(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        s.add_all([Customer(id=i, external_userid=f"wm{i}", name=f"客户{i}", first_seen_at=NOW) for i in (1, 2, 3)])
        await s.flush()
        s.add_all(
            [
                Purchase(customer_id=1, reference="a", amount_cents=90000, purchased_at=NOW - timedelta(days=2)),
                Purchase(customer_id=1, reference="b", amount_cents=10000, purchased_at=NOW - timedelta(days=30)),
                Purchase(customer_id=2, reference="c", amount_cents=500, purchased_at=NOW - timedelta(days=400)),
            ]
        )
    first = await run_rfm(sessions, NOW)
    second = await run_rfm(sessions, NOW + timedelta(days=1))
    assert first.customers == 3 and first.purchasers == 2
    assert first.by_tier == {"重要价值客户": 1, "一般挽留客户": 1, "未购客户": 1}
    assert second.by_tier == first.by_tier


async def test_segment_and_rfm_commands_work_when_run_as_a_user_would(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "qunke.db"
    shutil.copy(sqlite_template, path)
    env = {"QUNKE_DATABASE_URL": f"sqlite+aiosqlite:///{path}", "QUNKE_CONFIG": str(tmp_path / "none.yaml")}
    (tmp_path / "none.yaml").write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    engine = create_db_engine(env["QUNKE_DATABASE_URL"])
    async with make_sessionmaker(engine)() as s, s.begin():
        s.add_all([Customer(id=i, external_userid=f"wm{i}", name=f"客户{i}", first_seen_at=NOW) for i in (1, 2)])
        await s.flush()
        s.add(Purchase(customer_id=1, reference="a", amount_cents=100, purchased_at=datetime.now(UTC)))
    await engine.dispose()
    good = tmp_path / "buyers.yaml"
    good.write_text("name: 买过的客户\nall:\n  - purchases: {count_gte: 1}\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: 坏\nall:\n  - rfm_tier: {in: [土豪]}\n", encoding="utf-8")

    created = await qunke("segment", "create", "--file", str(good), "--json", env=env)
    refused = await qunke("segment", "create", "--file", str(bad), env=env)
    preview = await qunke("segment", "preview", "买过的客户", "--json", env=env)
    listed = await qunke("segment", "list", "--json", env=env)
    ran = await qunke("rfm", "run", "--json", env=env)
    tiers = await qunke("rfm", "list", "--tier", "未购", "--json", env=env)
    wrong_tier = await qunke("rfm", "list", "--tier", "土豪", env=env)
    deleted = await qunke("segment", "delete", "买过的客户", env=env)
    missing = await qunke("segment", "show", "买过的客户", env=env)

    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["preview"]["count"] == 1
    assert refused.returncode == 1 and "all[0].rfm_tier.in[0]" in refused.stderr and "Traceback" not in refused.stderr
    assert json.loads(preview.stdout) == {
        "count": 1,
        "by_owner": {"(无负责人)": 1},
        "sample": [{"id": 1, "name": "客户1", "external_userid": "wm1", "owner": None, "owner_name": ""}],
        "owner_names": {},
    }
    assert [s["name"] for s in json.loads(listed.stdout)] == ["买过的客户"]
    assert json.loads(ran.stdout)["by_tier"] == {"一般挽留客户": 1, "未购客户": 1}
    assert [r["customer_id"] for r in json.loads(tiers.stdout)["customers"]] == [2]
    assert wrong_tier.returncode == 1 and "unknown tier" in wrong_tier.stderr
    assert deleted.returncode == 0 and missing.returncode == 1 and "没有名为" in missing.stderr
