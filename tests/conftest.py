"""Shared fixtures: the WeCom-host guard, SQLite and PostgreSQL databases, the sandbox and the bot over real HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.migrate import upgrade
from tests.support.postgres import Cluster, PostgresUnavailable, start_cluster

REAL_WECOM_HOSTS = ("qyapi.weixin.qq.com", "api.weixin.qq.com", "work.weixin.qq.com", "weixin.qq.com", "qq.com")
_reached_real_wecom: list[str] = []
_real_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if any(name == h or name.endswith("." + h) for h in REAL_WECOM_HOSTS):
        _reached_real_wecom.append(name)
        raise OSError(f"test tried to reach the real WeCom host {name}: point WECOM_API_BASE at the sandbox")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def no_real_wecom() -> Iterator[None]:
    """Fails any test during which something tried to resolve a real WeCom host."""
    _reached_real_wecom.clear()
    yield
    assert not _reached_real_wecom, f"a test tried to reach real WeCom: {_reached_real_wecom}"


# ---- databases -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test copies it instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "qunke.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        if os.environ.get("QUNKE_REQUIRE_PG") == "1":
            pytest.fail(f"QUNKE_REQUIRE_PG=1 but PostgreSQL is unavailable: {exc}")
        print(f"\n*** PostgreSQL tests SKIPPED: {exc} ***")
        yield None
        return
    try:
        cluster.psql("CREATE DATABASE qunke_template")
        upgrade(cluster.url("qunke_template"))
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on SQLite and again on a real PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "qunke.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    cluster: Cluster | None = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip("PostgreSQL unavailable (set QUNKE_REQUIRE_PG=1 to make this a failure)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    cluster.psql(f"CREATE DATABASE {name} TEMPLATE qunke_template")
    yield cluster.url(name)
    cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Any]:
    from storage.db import create_db_engine

    eng = create_db_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Any]:
    """Sandbox + bot on loopback, no chaos, quick retries; tests that want chaos build their own."""
    from tests.support.stack import running_stack

    async with running_stack(database_url) as running:
        yield running
