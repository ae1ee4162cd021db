"""The database goes away under a running bot: callbacks get 503 (WeCom retries), /healthz says why, the log stays
a few lines instead of a traceback per attempt, and everything recovers without a restart."""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.channels.wecom.crypto import CallbackCrypto
from storage.migrate import upgrade
from tests.support.bot_only import member_text, signed
from tests.support.bot_process import BotProcess, write_config
from tests.support.postgres import Cluster, PostgresUnavailable, free_port, start_cluster
from tests.support.stack import DEMO

CRYPTO = CallbackCrypto.from_settings(DEMO.token, DEMO.aes_key, DEMO.corp_id)
CONFIG = {
    "ingest": {"sync_groups_on_start": False, "poll_interval_s": 0.2},
    "sender": {"poll_interval_s": 0.2},
    "service": {"tick_s": 3600},
    "churn": {"enabled": False},
}
_ids = iter(range(10**6, 10**7))
RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


async def _deliver(http: aiohttp.ClientSession, bot: BotProcess) -> int:
    query, body = signed(CRYPTO, member_text(str(next(_ids))))
    timeout = aiohttp.ClientTimeout(total=30)
    async with http.post(f"{bot.url}/wecom/callback", params=query, data=body.encode(), timeout=timeout) as resp:
        return resp.status


async def _health(http: aiohttp.ClientSession, bot: BotProcess) -> tuple[int, dict[str, object]]:
    async with http.get(f"{bot.url}/healthz", timeout=aiohttp.ClientTimeout(total=10)) as resp:
        body: dict[str, object] = await resp.json()
        return resp.status, body


async def _until(check: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():  # type: ignore[misc]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def _outage_log(log: Path, start: int) -> list[str]:
    """The log records written since `start` (a record is a line with a timestamp plus any traceback under it),
    without aiohttp's access lines (one per request by design)."""
    records: list[str] = []
    for line in log.read_bytes()[start:].decode(errors="replace").splitlines():
        if RECORD_START.match(line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return [record for record in records if "aiohttp.access" not in record]


async def _outage_then_recovery(
    bot: BotProcess, make_unavailable: Callable[[], None], restore: Callable[[], None], attempts: int, reason: str
) -> None:
    async with aiohttp.ClientSession() as http:
        assert await _deliver(http, bot) == 200
        start = bot.log.stat().st_size
        await asyncio.to_thread(make_unavailable)
        statuses = await asyncio.gather(*(_deliver(http, bot) for _ in range(attempts)))
        await asyncio.sleep(1)
        statuses += [await _deliver(http, bot) for _ in range(attempts)]
        assert set(statuses) == {503}, statuses
        status, body = await _health(http, bot)
        assert status == 503 and any(reason in r for r in body["reasons"]), body  # type: ignore[attr-defined]
        # (SQLite: reads still work; the workers' and the inbox writer's failing writes are the reason.)
        during = _outage_log(bot.log, start)
        await asyncio.to_thread(restore)

        async def delivered() -> bool:
            return await _deliver(http, bot) == 200

        async def healthy() -> bool:
            return (await _health(http, bot))[0] == 200

        await _until(delivered, 60, "a callback stored after the database came back")
        await _until(healthy, 60, "/healthz 200 after the database came back")
    # At most one traceback per worker (inbox writer, ingest, sender), a few lines in all: not one per attempt.
    assert sum("Traceback" in record for record in during) <= 3, "\n".join(during)
    assert len(during) <= 20 and sum(map(len, during)) < 100_000, "\n".join(during)

    async def recovered_logged() -> bool:
        return "database reachable again after" in bot.log.read_text(errors="replace")

    await _until(recovered_logged, 30, "a 'database reachable again' line")
    assert bot.process is not None and bot.process.poll() is None, "the bot restarted or died"


@asynccontextmanager
async def _bot_on_postgresql(tmp_path: Path, **config: dict[str, Any]) -> AsyncIterator[tuple[Cluster, BotProcess]]:
    """A healthy bot process on a migrated database `qunke` of a throwaway cluster; skips without PostgreSQL."""
    try:
        cluster = await asyncio.to_thread(start_cluster)
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        cluster.psql("CREATE DATABASE qunke")
        await asyncio.to_thread(upgrade, cluster.url("qunke"))
        path = write_config(tmp_path / "config.yaml", **(CONFIG | config))
        bot = BotProcess(cluster.url("qunke"), "http://127.0.0.1:9", free_port(), path, tmp_path / "bot.log")
        bot.start()
        try:
            await bot.wait_healthy()
            yield cluster, bot
        finally:
            await bot.stop()
    finally:
        cluster.stop()


async def test_callbacks_get_503_and_everything_recovers_when_postgresql_stops_and_restarts(tmp_path: Path) -> None:
    async with _bot_on_postgresql(tmp_path) as (cluster, bot):
        await _outage_then_recovery(bot, cluster.pause, cluster.resume, 30, "database unreachable")


async def test_callbacks_get_503_and_everything_recovers_when_sqlite_is_locked_by_another_process(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "qunke.db"
    shutil.copy(sqlite_template, path)
    config = write_config(tmp_path / "config.yaml", **CONFIG)
    bot = BotProcess(f"sqlite+aiosqlite:///{path}", "http://127.0.0.1:9", free_port(), config, tmp_path / "bot.log")
    locker = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)

    def lock() -> None:  # another process holding the write lock: every write waits out busy_timeout, then fails
        locker.execute("BEGIN EXCLUSIVE")

    bot.start()
    try:
        await bot.wait_healthy()
        await _outage_then_recovery(bot, lock, locker.rollback, 3, "inbox_writer failing since")
    finally:
        locker.close()
        await bot.stop()


async def test_a_hung_postgresql_gets_callbacks_a_503_in_time_and_their_rows_stored_when_it_answers(
    tmp_path: Path,
) -> None:
    """The database hangs instead of failing (here a lock another client holds on the inbox's table): `qunke
    serve` answers 503 within webhook.ack_timeout_s, before WeCom's 5 s are up, says so in /healthz, /metrics and
    one log line, and stores the row once the database answers; WeCom's retry is then acked as a duplicate."""
    async with _bot_on_postgresql(tmp_path, webhook={"ack_timeout_s": 1}) as (cluster, bot):
        locker = await asyncpg.connect(cluster.url("qunke").replace("+asyncpg", ""))
        try:
            query, body = signed(CRYPTO, member_text("7700001"))
            async with aiohttp.ClientSession() as http:

                async def deliver() -> tuple[int, float]:
                    started = time.monotonic()
                    url, timeout = f"{bot.url}/wecom/callback", aiohttp.ClientTimeout(total=30)
                    async with http.post(url, params=query, data=body.encode(), timeout=timeout) as resp:
                        return resp.status, time.monotonic() - started

                await locker.execute("BEGIN; LOCK TABLE inbound_events IN EXCLUSIVE MODE")
                status, waited = await deliver()
                assert status == 503 and 1.0 <= waited < 3.0, (status, waited)
                health_status, health = await _health(http, bot)
                assert health_status == 503 and any("answered 503" in r for r in health["reasons"]), health  # type: ignore[attr-defined]
                async with http.get(f"{bot.url}/metrics") as resp:
                    assert 'qunke_callbacks_total{outcome="store_slow"} 1.0' in await resp.text()
                await locker.execute("ROLLBACK")

                async def stored() -> bool:
                    return await _count(locker, "msg:7700001") == 1

                await _until(stored, 30, "the late row written once the lock was released")
                status, _ = await deliver()  # WeCom's retry
                assert status == 200
                assert await _count(locker, "msg:7700001") == 1
                async with http.get(f"{bot.url}/metrics") as resp:
                    assert 'qunke_callbacks_total{outcome="duplicate"} 1.0' in await resp.text()
            lines = [r for r in _outage_log(bot.log, 0) if "answered 503" in r]
            assert len(lines) == 1 and "Traceback" not in lines[0], lines
        finally:
            await locker.close()


async def _count(db: asyncpg.Connection, key: str) -> int:
    return int(await db.fetchval("SELECT count(*) FROM inbound_events WHERE dedupe_key = $1", key))
