"""Database failures explained in one line, and only database failures."""

from __future__ import annotations

import sqlite3

from storage.db_errors import explain


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
