"""Duties on a real PostgreSQL: a follower's trigger is pulled once by the leader, the pull moves when the holder
dies, /healthz's report names the leader from a follower, the start-up import runs once, and a group's snapshot
lock makes two writers take turns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.duties import Duties
from bot.ingest.startup_import import import_when_leading
from bot.leader import DUTY_KEYS
from bot.pull_duty import PullDuty
from services.clock import ManualClock
from storage.db import create_db_engine, make_sessionmaker
from storage.repos import advisory, pull_wants

CLOCK = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
PG = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def _until(predicate: Callable[[], bool], seconds: float = 10.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > seconds:
            raise AssertionError("not reached before the deadline")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


@dataclass
class Node:
    """What one `qunke serve` process has of the duties: its engine, its leaderships and a kf PullDuty."""

    engine: AsyncEngine
    duties: Duties
    pulled: list[tuple[str, str]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    kf: PullDuty | None = None
    loop: asyncio.Task[None] | None = None

    async def pull(self, target: str, token: str) -> int:
        self.pulled.append((target, token))
        return 1


@asynccontextmanager
async def _nodes(database_url: str, count: int = 2) -> AsyncIterator[list[Node]]:
    nodes: list[Node] = []
    for index in range(count):
        engine = create_db_engine(database_url, application_name=f"qunke node{index}:{index}")
        node = Node(engine, Duties(engine, retry_s=0.2))
        node.kf = PullDuty("kf", node.duties["kf"], make_sessionmaker(engine), CLOCK, node.pull, poll_s=0.1)
        node.loop = asyncio.create_task(node.kf.run(node.stop))
        nodes.append(node)
    runs = [asyncio.create_task(leadership.run()) for node in nodes for leadership in node.duties]
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop.set()
            node.duties.stop()
        await asyncio.gather(*runs, *(n.loop for n in nodes if n.loop), return_exceptions=True)
        for node in nodes:
            await node.engine.dispose()


def _kf_leader(nodes: list[Node]) -> Node | None:
    leading = [node for node in nodes if node.duties["kf"].is_leader]
    return leading[0] if len(leading) == 1 else None


@PG
async def test_a_followers_kf_trigger_is_pulled_once_by_the_leader_when_two_processes_share_postgres(
    database_url: str,
) -> None:
    async with _nodes(database_url) as nodes:
        await _until(lambda: _kf_leader(nodes) is not None)
        leader = _kf_leader(nodes)
        assert leader is not None
        follower = next(node for node in nodes if node is not leader)
        assert follower.kf is not None
        await follower.kf.trigger("wkA", "tok1")
        await _until(lambda: leader.pulled == [("wkA", "tok1")])
        await asyncio.sleep(0.5)  # several polls later: still one pull, the mark cleared, the follower never pulled
        assert leader.pulled == [("wkA", "tok1")] and follower.pulled == []
        async with make_sessionmaker(leader.engine)() as session:
            assert await pull_wants.pending(session, "kf") == []


@PG
async def test_the_leaders_own_triggers_are_served_by_its_duty_loop_when_on_postgres(
    database_url: str,
) -> None:
    async with _nodes(database_url) as nodes:
        await _until(lambda: _kf_leader(nodes) is not None)
        leader = _kf_leader(nodes)
        assert leader is not None and leader.kf is not None
        # Five callbacks at once: each trigger only marks (returns without waiting for a pull) and wakes the loop.
        await asyncio.gather(*(leader.kf.trigger("wkD", f"tok{n}") for n in range(5)))
        await _until(lambda: bool(leader.pulled))
        await asyncio.sleep(0.5)  # several polls later: every mark served, by the leader's loop alone
        follower = next(node for node in nodes if node is not leader)
        assert leader.pulled and all(target == "wkD" for target, _ in leader.pulled) and follower.pulled == []
        async with make_sessionmaker(leader.engine)() as session:
            assert await pull_wants.pending(session, "kf") == []


@PG
async def test_a_mark_left_for_a_dead_leader_is_pulled_by_the_next_one_when_the_holder_dies(
    database_url: str,
) -> None:
    async with _nodes(database_url, 3) as nodes:
        await _until(lambda: _kf_leader(nodes) is not None)
        leader = _kf_leader(nodes)
        assert leader is not None and leader.loop is not None
        leader.stop.set()  # its puller stops first (as if hung), then its connection dies with the lock
        await leader.loop
        followers = [node for node in nodes if node is not leader]
        assert followers[0].kf is not None
        await followers[0].kf.trigger("wkB", "")
        holder = leader.duties["kf"]
        assert holder._conn is not None
        pid = await holder._conn.scalar(text("SELECT pg_backend_pid()"))
        async with followers[0].engine.connect() as admin:  # what a SIGKILLed process looks like to PostgreSQL
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert await _until(lambda: _kf_leader(followers) is not None) < 5
        await _until(lambda: sum(len(n.pulled) for n in followers) == 1)
        new = _kf_leader(followers)
        assert new is not None and new.pulled == [("wkB", "")] and leader.pulled == []


@PG
async def test_a_follower_reports_who_leads_each_duty_when_two_processes_share_postgres(database_url: str) -> None:
    async with _nodes(database_url) as nodes:
        await _until(lambda: all(_leads_of(nodes, duty) == 1 for duty in ("scheduler", "kf", "archive", "import")))
        for node in nodes:
            report = await node.duties.report()
            duties = report["duties"]
            assert isinstance(duties, dict) and "error" not in report, report
            for duty, state in duties.items():
                holder = next(n for n in nodes if n.duties[duty].is_leader)
                expected = (
                    holder.duties.identity if holder is node else f"node{nodes.index(holder)}:{nodes.index(holder)}"
                )
                assert state == {"leads": holder is node, "leader": expected}, (duty, state)


def _leads_of(nodes: list[Node], duty: str) -> int:
    return sum(node.duties[duty].is_leader for node in nodes)


@PG
async def test_the_startup_import_runs_once_when_two_processes_start_together(database_url: str) -> None:
    async with _nodes(database_url) as nodes:
        ran: list[int] = []
        stop = asyncio.Event()

        def step_of(index: int) -> Callable[[], Awaitable[None]]:
            async def step() -> None:
                ran.append(index)

            return step

        imports = [
            import_when_leading(n.duties["import"], make_sessionmaker(n.engine), CLOCK, [step_of(i)], stop)
            for i, n in enumerate(nodes)
        ]
        first = asyncio.create_task(imports[0])
        second = asyncio.create_task(imports[1])
        await _until(lambda: len(ran) == 1)
        holder = next(i for i, n in enumerate(nodes) if n.duties["import"].is_leader)
        await (first, second)[holder]
        nodes[holder].duties["import"].stop()  # the importer hands over: the other takes the lead, sees it done
        await asyncio.wait_for((first, second)[1 - holder], 10)
        assert ran == [holder]


@PG
async def test_two_writers_of_one_group_take_turns_when_they_hold_its_snapshot_lock(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as first, first.begin():
        await advisory.lock_for_transaction(first, advisory.GROUP_SNAPSHOT, "wrGroupA")

        async def second_writer(chat_id: str) -> None:
            async with sessions() as second, second.begin():
                await advisory.lock_for_transaction(second, advisory.GROUP_SNAPSHOT, chat_id)

        await asyncio.wait_for(second_writer("wrGroupB"), 5)  # another group goes ahead
        waiting = asyncio.create_task(second_writer("wrGroupA"))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the same group waits for the first transaction
    await asyncio.wait_for(waiting, 5)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_snapshot_lock_is_a_no_op_when_on_sqlite(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session, session.begin():
        await advisory.lock_for_transaction(session, advisory.GROUP_SNAPSHOT, "wrGroupA")
        await advisory.lock_for_transaction(session, advisory.GROUP_SNAPSHOT, "wrGroupA")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_one_process_leads_every_duty_and_pulls_at_once_when_on_sqlite(engine: AsyncEngine) -> None:
    duties = Duties(engine)
    node = Node(engine, duties)
    kf = PullDuty("kf", duties["kf"], make_sessionmaker(engine), CLOCK, node.pull)
    await kf.trigger("wkC", "tok")
    report = await duties.report()
    assert node.pulled == [("wkC", "tok")]
    assert report["duties"] == {duty: {"leads": True, "leader": duties.identity} for duty in DUTY_KEYS}
