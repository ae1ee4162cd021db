"""Scheduler leadership on a real PostgreSQL: one holder among several processes' engines, taken over within
seconds when the holder's connection dies; on SQLite this process always leads."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.leader import Leadership
from storage.db import create_db_engine


async def _until(predicate: object, seconds: float = 10.0) -> float:
    start = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - start > seconds:
            raise AssertionError("not reached before the deadline")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def _leaders(database_url: str) -> tuple[list[AsyncEngine], list[Leadership], list[asyncio.Task[None]]]:
    engines: list[AsyncEngine] = [create_db_engine(database_url) for _ in range(3)]
    leaders = [Leadership(engine, key=4242, retry_s=0.2) for engine in engines]
    return engines, leaders, [asyncio.create_task(leader.run()) for leader in leaders]


async def _close(engines: list[AsyncEngine], leaders: list[Leadership], runs: list[asyncio.Task[None]]) -> None:
    for leader in leaders:
        leader.stop()
    await asyncio.gather(*runs, return_exceptions=True)
    for engine in engines:
        await engine.dispose()


def _count(leaders: list[Leadership]) -> int:
    return sum(leader.is_leader for leader in leaders)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_one_process_leads_and_another_takes_over_when_the_holder_stops(database_url: str) -> None:
    engines, leaders, runs = await _leaders(database_url)
    try:
        await _until(lambda: _count(leaders) == 1)
        await asyncio.sleep(0.6)  # several retry rounds: still exactly one
        assert _count(leaders) == 1
        holder = next(i for i, leader in enumerate(leaders) if leader.is_leader)
        runs[holder].cancel()
        await asyncio.gather(runs[holder], return_exceptions=True)
        others = [leader for i, leader in enumerate(leaders) if i != holder]
        assert await _until(lambda: _count(others) == 1) < 5
    finally:
        await _close(engines, leaders, runs)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_the_lead_moves_within_seconds_when_the_holders_connection_dies(database_url: str) -> None:
    engines, leaders, runs = await _leaders(database_url)
    try:
        await _until(lambda: _count(leaders) == 1)
        holder = next(leader for leader in leaders if leader.is_leader)
        assert holder._conn is not None
        pid = await holder._conn.scalar(text("SELECT pg_backend_pid()"))
        async with engines[0].connect() as admin:  # what a SIGKILLed process looks like to PostgreSQL
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await _until(lambda: not holder.is_leader or holder._conn is None, 5)
        assert await _until(lambda: _count(leaders) == 1) < 5
        new = next(leader for leader in leaders if leader.is_leader)
        assert new._conn is not None and await new._conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await _close(engines, leaders, runs)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_process_always_leads_when_alone(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        leadership = Leadership(engine)
        await leadership.run()  # returns at once: nothing to hold
        assert leadership.is_leader
    finally:
        await engine.dispose()
