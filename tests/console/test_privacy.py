"""PIPL through the CLI a manager runs: export holds every kind of row; erasure leaves no trace in the file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.models.console import AuditEntry, Erasure
from storage.models.customers import Customer
from storage.models.faq import UnansweredGroup, UnansweredQuestion
from storage.models.inbox import InboundEvent
from storage.models.messages import Message
from storage.models.outbox import Outbox
from tests.integration.test_cli import qunke
from tests.support.console_world import START, client, csrf_of, login, running_console

SECRET_WORDS = ("我的订单呢", "我家住在幸福路八号", "请回复王小明的退款")


async def _add_personal_rows(world_sessions: object, customer_id: int) -> None:
    """Rows outside the customer-keyed tables: a raw callback, an outbox reply and an unanswered question."""
    async with world_sessions() as session:  # type: ignore[operator]
        session.add(
            InboundEvent(
                dedupe_key="oa:1",
                source="oa",
                kind="text",
                payload=f"<xml><FromUserName>wm_zhang_1</FromUserName><Content>{SECRET_WORDS[1]}</Content></xml>",
                received_at=START,
                next_attempt_at=START,
                status="done",
            )
        )
        session.add(
            Outbox(
                kind="kf_message",
                api="/cgi-bin/kf/send_msg",
                recipient="wm_zhang_1",
                payload={"touser": "wm_zhang_1", "text": {"content": SECRET_WORDS[2]}},
                not_before=START,
                idempotency_key="reply-1",
                created_at=START,
                updated_at=START,
                status="sent",
            )
        )
        group = UnansweredGroup(
            label=SECRET_WORDS[1], normalized="x", count=1, first_at=START, last_at=START + timedelta(seconds=1)
        )
        session.add(group)
        await session.flush()
        session.add(
            UnansweredQuestion(
                group_id=group.id,
                customer_id=customer_id,
                channel="kf",
                chat_id="kf1",
                text=SECRET_WORDS[1],
                decision="silent",
                asked_at=START,
            )
        )
        await session.commit()


async def test_export_contains_every_kind_of_row_about_the_person(database_url: str, tmp_path: Path) -> None:
    async with running_console(database_url) as world:
        await _add_personal_rows(world.sessions, world.zhang_customer)
        out = tmp_path / "export.json"
        env = {"QUNKE_DATABASE_URL": database_url}
        done = await qunke("customer", "export", str(world.zhang_customer), "--out", str(out), env=env)
        assert done.returncode == 0, done.stderr
        document = json.loads(out.read_text(encoding="utf-8"))
        tables = document["tables"]
        for name in ("customers", "messages", "tickets", "surveys", "outbox", "inbound_events", "unanswered_questions"):
            assert tables[name], f"export has no {name} rows"
        assert document["profile"]["name"] == "王小明"
        async with world.sessions() as session:
            actions = (await session.execute(select(AuditEntry.action))).scalars().all()
        assert "customer_export" in actions


async def test_erasure_leaves_none_of_the_persons_words_in_the_database_file(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the file-bytes check is about SQLite's file; PostgreSQL runs the same deletes in the next test")
    async with running_console(database_url) as world:
        await _add_personal_rows(world.sessions, world.zhang_customer)
        path = Path(database_url.split("///", 1)[1])
        assert all(_present(w, _file_bytes(path)) for w in SECRET_WORDS)  # the check below is not vacuous
        env = {"QUNKE_DATABASE_URL": database_url}
        refused = await qunke("customer", "erase", str(world.zhang_customer), env=env)
        assert refused.returncode == 1 and "--yes" in refused.stderr
        done = await qunke("customer", "erase", str(world.zhang_customer), "--yes", env=env)
        assert done.returncode == 0, done.stderr
        async with world.sessions() as session:
            assert await session.get(Customer, world.zhang_customer) is None
            assert await session.get(Customer, world.li_customer) is not None  # nobody else's data went
            others = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
            assert others == 2
            tombstone = (await session.execute(select(Erasure))).scalar_one()
            assert "wm_zhang_1" not in json.dumps(tombstone.counts)
            assert (await session.execute(select(func.count()).select_from(UnansweredGroup))).scalar_one() == 0
    data = _file_bytes(path)
    for words in (*SECRET_WORDS, "王小明", "wm_zhang_1"):
        assert not _present(words, data), f"{words} still in the database file or its WAL"


def _present(words: str, data: bytes) -> bool:
    """As UTF-8 text or as JSON's \\u escapes (JSON columns store Chinese escaped)."""
    return words.encode() in data or json.dumps(words)[1:-1].encode() in data


def _file_bytes(path: Path) -> bytes:
    """The database file and its WAL together: erased text must be in neither."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_erasure_removes_the_persons_rows_when_on_any_database(database_url: str) -> None:
    async with running_console(database_url) as world:
        await _add_personal_rows(world.sessions, world.zhang_customer)
        done = await qunke(
            "customer", "erase", str(world.zhang_customer), "--yes", env={"QUNKE_DATABASE_URL": database_url}
        )
        assert done.returncode == 0, done.stderr
        async with world.sessions() as session:
            for model in (InboundEvent, Outbox, UnansweredQuestion):
                assert (await session.execute(select(func.count()).select_from(model))).scalar_one() == 0
            audit = (
                await session.execute(select(AuditEntry).where(AuditEntry.action == "customer_erase"))
            ).scalar_one()
            assert audit.target == f"customer:{world.zhang_customer}"


async def test_manager_erases_a_customer_from_the_console_when_the_id_is_confirmed(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        async with http.get(f"{world.base}/console/privacy") as page:
            token = csrf_of(await page.text())
        url = f"{world.base}/console/privacy/{world.li_customer}/erase"
        async with http.post(url, data={"csrf_token": token, "confirm": "1"}) as answer:
            assert answer.status == 400  # the confirmation does not match
        async with http.post(url, data={"csrf_token": token, "confirm": str(world.li_customer)}) as answer:
            assert answer.status == 200
            assert "已删除" in await answer.text()
        async with http.get(f"{world.base}/console/customers/{world.li_customer}") as page:
            assert page.status == 404


async def test_export_downloads_json_when_a_manager_asks_and_is_refused_to_a_rep(database_url: str) -> None:
    async with running_console(database_url) as world, client() as boss, client() as rep:
        await login(boss, world.base, "boss")
        async with boss.get(f"{world.base}/console/privacy") as page:
            token = csrf_of(await page.text())
        url = f"{world.base}/console/privacy/{world.zhang_customer}/export"
        async with boss.post(url, data={"csrf_token": token}) as answer:
            assert answer.status == 200
            assert (await answer.json())["tables"]["messages"]
        await login(rep, world.base, "zhang")
        async with rep.get(f"{world.base}/console/") as page:
            token = csrf_of(await page.text())
        async with rep.post(url, data={"csrf_token": token}) as answer:
            assert answer.status == 403  # even for the rep's own customer
