"""One `qunke serve` per SQLite file: the file lock refuses a second holder and frees itself with its process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage.single_server import SqliteAlreadyServed, claim_sqlite_file


def test_second_claim_is_refused_with_the_holders_pid_when_the_file_is_served(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'qunke.db'}"
    first = claim_sqlite_file(url)
    assert first is not None
    try:
        with pytest.raises(SqliteAlreadyServed) as refused:
            claim_sqlite_file(url)
        assert str(os.getpid()) in str(refused.value) and "PostgreSQL" in str(refused.value)
    finally:
        os.close(first)


def test_claim_succeeds_again_when_the_holder_let_go(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'qunke.db'}"
    first = claim_sqlite_file(url)
    assert first is not None
    os.close(first)
    second = claim_sqlite_file(url)
    assert second is not None
    os.close(second)


@pytest.mark.parametrize(
    "url", ["postgresql+asyncpg://qunke:pw@db/qunke", "sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite://"]
)
def test_nothing_is_locked_when_the_database_is_not_a_sqlite_file(url: str) -> None:
    assert claim_sqlite_file(url) is None
