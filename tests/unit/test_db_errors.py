"""Database failures explained in one line, and only database failures."""

from __future__ import annotations

import sqlite3

from storage.db_errors import explain, is_connection_lost


def test_a_refused_connection_is_not_called_a_database_problem_when_no_driver_raised_it() -> None:
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 8081)")
    except ConnectionRefusedError as exc:
        assert explain(exc) is None


def test_an_unmigrated_sqlite_file_says_to_upgrade_when_a_table_is_missing() -> None:
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("SELECT * FROM customers")
    except sqlite3.OperationalError as exc:
        message = explain(exc)
    assert message is not None and "run `qunke db upgrade` first" in message


def test_connection_lost_tells_a_dead_connection_from_a_failed_statement() -> None:
    from asyncpg.exceptions import (
        AdminShutdownError,
        ConnectionDoesNotExistError,
        DiskFullError,
        InterfaceError,
        InternalClientError,
        UniqueViolationError,
    )

    for gone in (
        ConnectionResetError(),
        AdminShutdownError(),
        ConnectionDoesNotExistError(),
        InterfaceError("connection is closed"),
        InternalClientError("cannot switch to state 12"),
    ):
        assert is_connection_lost(gone), gone
    for failed in (
        DiskFullError(),
        UniqueViolationError(),
        sqlite3.OperationalError("database is locked"),
        ValueError(),
    ):
        assert not is_connection_lost(failed), failed
