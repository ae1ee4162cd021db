"""The same scenarios on PostgreSQL: a throwaway cluster, `qunke db upgrade`, then the FAQ, the SLA and a SIGKILL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import Keys, Stack, StackPlan
from tests.e2e.pool import StackPool, use_stack
from tests.e2e.scenarios import bot_killed_mid_conversation, faq_answer_in_kf, sla_fires, sla_start
from tests.support.postgres import Cluster, PostgresUnavailable, start_cluster

pytestmark = pytest.mark.e2e


@dataclass
class PgStack:
    cluster: Cluster
    stack: Stack

    def stop(self) -> None:
        self.stack.stop()
        self.cluster.stop()


def _build(root: Path, keys: Keys) -> PgStack:
    """A throwaway cluster, a fresh database migrated with `qunke db upgrade`, the stack, then the SLA's question."""
    cluster = start_cluster()
    try:
        name = f"e2e_{uuid.uuid4().hex[:10]}"
        cluster.psql(f"CREATE DATABASE {name}")
        stack = Stack(root, keys, database_url=cluster.url(name)).start()
    except BaseException:
        cluster.stop()
        raise
    started = PgStack(cluster, stack)
    try:
        sla_start(stack, "阿杰")  # the slow timer first; checked by the last test
    except BaseException:
        started.stop()
        raise
    return started


POSTGRES = StackPlan("postgres", _build)
E2E_STACKS = (POSTGRES,)


@pytest.fixture(scope="module")
def pg_stack(stack_pool: StackPool) -> Iterator[Stack]:
    try:
        yield from (started.stack for started in use_stack(stack_pool, POSTGRES))
    except PostgresUnavailable as exc:
        if os.environ.get("QUNKE_REQUIRE_PG") == "1":
            pytest.fail(f"QUNKE_REQUIRE_PG=1 but PostgreSQL is unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable (set QUNKE_REQUIRE_PG=1 to make this a failure): {exc}")


def test_kf_question_gets_the_faq_answer_on_postgresql(pg_stack: Stack) -> None:
    faq_answer_in_kf(pg_stack, "王姐(宝妈)")


def test_nothing_is_lost_or_doubled_when_the_bot_is_killed_on_postgresql(pg_stack: Stack) -> None:
    bot_killed_mid_conversation(pg_stack, "Lemon柠檬", "2026秋季训练营1群")


def test_sla_fires_on_its_own_on_postgresql(pg_stack: Stack) -> None:
    sla_fires(pg_stack, "阿杰", owner="lisi", manager="zhaoliu")
