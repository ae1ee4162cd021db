"""When a batch of the ingest worker commits: SQLite commits every slice while callbacks wait, not every event."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

import bot.ingest.batch as batch_module
from bot.ingest.batch import PG_BATCH_S, SQLITE_ACK_SLICE_S, SQLITE_SLICE_S, BatchTransaction


def _batch(sqlite: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[BatchTransaction, list[float]]:
    now = [100.0]
    monkeypatch.setattr(batch_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    session: Any = object()  # due() never touches the session
    return BatchTransaction(session, sqlite, lambda: datetime.now(UTC)), now


def test_sqlite_commits_a_slice_of_work_while_callbacks_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    batch, now = _batch(True, monkeypatch)
    assert not batch.due(acks_pending=True)  # nothing done yet: nothing to commit
    batch.done(1, handled=True)
    assert not batch.due(acks_pending=True)  # one event, just now: keep going, the acks wait at most a slice
    now[0] += SQLITE_ACK_SLICE_S
    assert batch.due(acks_pending=True)
    assert not batch.due(acks_pending=False)  # with no callback waiting, the long slice applies
    now[0] += SQLITE_SLICE_S
    assert batch.due(acks_pending=False)


def test_postgresql_ends_a_batch_at_once_under_pressure_or_after_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    batch, now = _batch(False, monkeypatch)
    batch.done(1, handled=True)
    assert batch.due(acks_pending=True) and not batch.due(acks_pending=False)
    now[0] += PG_BATCH_S
    assert batch.due(acks_pending=False)
