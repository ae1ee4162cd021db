"""A throwaway PostgreSQL cluster for the test session: initdb into a temp dir, pg_ctl on a free loopback port."""

from __future__ import annotations

import glob
import os
import random
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(Exception):
    """No server binaries here, or the cluster would not start; the message says which."""


_handed_out: set[int] = set()


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port nobody listens on, below the kernel's ephemeral range.

    A port the kernel hands out for `bind(0)` is an ephemeral one, so between our probe and the server's bind an
    outgoing connection of the same test run may take it as its source port (CI once failed that way: "address
    already in use"). Ports below the ephemeral range are never chosen for outgoing connections.
    """
    floor = _ephemeral_floor()
    low = max(1024, floor - 20000)
    for _ in range(500):
        port = random.randrange(low, floor)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free loopback port between {low} and {floor}")


def _bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")


@dataclass
class Cluster:
    bindir: Path
    datadir: Path
    port: int
    as_user: list[str]

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
        )

    def pause(self) -> None:
        """Stop the server but keep its data (a database outage); `resume()` starts it again on the same port."""
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"],
            check=True,
            capture_output=True,
        )

    def resume(self) -> None:
        root = self.datadir.parent
        pg_ctl = [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir)]
        options = ["-o", _options(self.port, root), "-l", str(root / "log")]
        subprocess.run([*pg_ctl, *options, "-w", "start"], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _options(port: int, root: Path) -> str:
    return (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )


def start_cluster() -> Cluster:
    bindir = _bindir()
    # initdb refuses to run as root: run the server as the postgres user, in a directory it owns.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="qunke-pg-"))
    datadir = root / "data"
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    run = lambda *args: subprocess.run([*as_user, *args], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = _options(port, root)
        run(str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-l", str(root / "log"), "-w", "start")
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"could not start PostgreSQL: {detail.strip()[:500]}") from exc
    return Cluster(bindir, datadir, port, as_user)
