"""What is wrong with the database, in one line an operator can act on, instead of a driver's traceback."""

from __future__ import annotations

import errno
import socket
import sqlite3
import traceback
from collections.abc import Iterator
from typing import Final

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

SUPPORTED_DRIVERS: Final = ("sqlite+aiosqlite", "postgresql+asyncpg")
URL_HINT: Final = "expected postgresql+asyncpg://user:password@host:5432/dbname or sqlite+aiosqlite:///path/to/qunke.db"
DRIVER_PATHS: Final = ("/sqlalchemy/", "/asyncpg/", "/aiosqlite/", "/alembic/")
FIX_URL: Final = "check QUNKE_DATABASE_URL (or database.url in config.yaml)"


class DatabaseUnavailable(Exception):
    """The database cannot be used (down, unreachable, wrong URL, not migrated); the message says what to do."""


def check_url(url: str) -> None:
    """Refuse a URL the bot cannot use before any driver is loaded (`postgres://` has no async driver)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"database URL is not a URL: {URL_HINT}") from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise DatabaseUnavailable(f"database URL scheme {parsed.drivername}:// is not supported: {URL_HINT}")


def explain(exc: BaseException) -> str | None:
    """One line for a database failure anywhere in `exc`'s chain, or None when it is not one."""
    if not _from_database(exc):
        return None  # a refused connection to WeCom or the sandbox is not a database problem
    for cause in _chain(exc):
        message = _explain_one(cause)
        if message is not None:
            return message
    return None


def is_connection_failure(exc: BaseException) -> bool:
    """The server could not be reached at all (as opposed to a query failing once connected)."""
    return any(_connect_failure(cause) is not None for cause in _chain(exc))


def is_connection_lost(exc: BaseException) -> bool:
    """A driver's own error (not SQLAlchemy's wrapper) saying its connection is gone: the server restarted or
    dropped it, so a fresh connection may succeed at once. A failing statement on a live connection is not."""
    if isinstance(exc, OSError):
        return True
    if not type(exc).__module__.startswith("asyncpg"):
        return False
    # Imported only once a PostgreSQL error is in hand: a SQLite install need not load asyncpg.
    from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError, PostgresError

    # The server's answer about a statement leaves its connection usable, except the connection (08xxx) and
    # shutdown (57Pxx) classes. What asyncpg raises on its own side (the connection is closed, or a backend killed
    # mid-protocol left it in a state it cannot continue from) means this connection is done.
    return not isinstance(exc, PostgresError) or isinstance(exc, PostgresConnectionError | OperatorInterventionError)


def _from_database(exc: BaseException) -> bool:
    """Raised by SQLAlchemy or a database driver: its type says so, or its traceback passes through one."""
    for cause in _chain(exc):
        if isinstance(cause, DatabaseUnavailable | DBAPIError | NoSuchModuleError | sqlite3.Error):
            return True
        for frame, _line in traceback.walk_tb(cause.__traceback__):
            if any(marker in frame.f_code.co_filename for marker in DRIVER_PATHS):
                return True
    return False


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = current.orig if isinstance(current, DBAPIError) else None
        for nxt in (orig, current.__cause__, current.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _explain_one(exc: BaseException) -> str | None:
    if isinstance(exc, DatabaseUnavailable):
        return str(exc)
    if isinstance(exc, NoSuchModuleError | ArgumentError):
        return f"database URL not usable ({_first_line(exc)}): {URL_HINT}"
    connect = _connect_failure(exc)
    if connect is not None:
        return connect
    name, text = type(exc).__name__, _first_line(exc)
    if name == "InvalidCatalogNameError":
        return f"{text}: create the database, then run `qunke db upgrade`"
    if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
        return f"the database refused the login ({text}): {FIX_URL}"
    if name == "UndefinedTableError" or (isinstance(exc, sqlite3.OperationalError) and "no such table" in text):
        return f"the database has no Qunke tables ({text}): run `qunke db upgrade` first"
    if isinstance(exc, sqlite3.OperationalError) and "unable to open database file" in text:
        return f"cannot open the SQLite file ({text}): check that its folder exists and is writable; {FIX_URL}"
    if isinstance(exc, sqlite3.DatabaseError) and "full" in text:
        return f"the disk holding the SQLite file is full ({text}): free some space"
    return None


def _connect_failure(exc: BaseException) -> str | None:
    if isinstance(exc, socket.gaierror):
        return f"cannot connect to the database: host not found ({_first_line(exc)}); {FIX_URL}"
    if isinstance(exc, ConnectionRefusedError) or (isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED):
        return f"cannot connect to the database: connection refused ({_first_line(exc)}); is it running? {FIX_URL}"
    if isinstance(exc, TimeoutError):
        return f"cannot connect to the database: timed out; is the host reachable? {FIX_URL}"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENOENT):
        return f"cannot connect to the database ({_first_line(exc)}); {FIX_URL}"
    if type(exc).__name__ in ("CannotConnectNowError", "ConnectionDoesNotExistError"):
        return f"cannot connect to the database ({_first_line(exc)}): it is starting or shutting down"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
