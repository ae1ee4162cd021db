"""The archive's RSA unwraps in worker processes, a page at a time.

cryptography releases the GIL inside an RSA decrypt, but each unwrap must take the GIL back to return, and while the
event loop stores the previous page it holds the GIL almost all the time: a decrypt thread then gets a fraction of a
core (measured: ~400 unwraps/s beside a busy Python thread, ~1,400/s alone). A process has its own GIL, so page
N+1's unwraps run on another core while page N is stored. The workers are plain subprocesses
(bot/channels/wecom/unwrap_worker.py, importing only cryptography; multiprocessing's spawn would import the whole
bot again in each); one request per chunk of a page amortises the pipe: wrapped keys out, plain keys back.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger("qunke.archive")

Wrapped = tuple[int, str]  # (publickey_ver, encrypt_random_key in base64)
Unwrapped = bytes | str  # the plain key, or why it could not be unwrapped


class WorkerDied(Exception):
    """The unwrap process ended or answered nonsense; the page is unwrapped in-process instead."""


def _same_code_env() -> dict[str, str]:
    """The environment with this very `bot` package first on the path, so the worker runs the parent's code."""
    root = str(Path(__file__).resolve().parents[3])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, path) if p)}


class _Worker:
    """One unwrap process; one request at a time (a request finishes even if its caller was cancelled, so the
    answers never get out of step)."""

    def __init__(self, pems: Mapping[int, bytes]) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "bot.channels.wecom.unwrap_worker"],  # -P: not whatever is in the cwd
            env=_same_code_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="ascii",
        )
        self._lock = threading.Lock()
        self._send(json.dumps({str(v): pem.decode() for v, pem in pems.items()}))

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _send(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def unwrap(self, wrapped: Sequence[Wrapped]) -> list[Unwrapped]:
        """Blocking: run on a thread. Raises WorkerDied."""
        assert self._proc.stdout is not None
        with self._lock:
            try:
                self._send(json.dumps(wrapped))
                answer = json.loads(self._proc.stdout.readline() or "null")
            except (OSError, ValueError) as exc:
                raise WorkerDied(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(answer, list) or len(answer) != len(wrapped):
            raise WorkerDied(f"exit code {self._proc.poll()}" if answer is None else "answer out of step")
        return [base64.b64decode(value) if kind == "k" else str(value) for kind, value in answer]

    def close(self) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()  # the worker ends at EOF
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


class UnwrapPool:
    """Worker processes started on first use (a pull with a backlog), kept for the puller's life. A worker that
    dies fails only that page's attempt: the caller unwraps it in-process and the workers are started again next
    time."""

    def __init__(self, pems: Mapping[int, bytes], processes: int) -> None:
        self._pems, self._processes = dict(pems), max(1, processes)
        self._workers: list[_Worker] = []
        self._io = ThreadPoolExecutor(self._processes, thread_name_prefix="archive-unwrap-io")

    @property
    def processes(self) -> int:
        return self._processes

    @property
    def pids(self) -> list[int]:
        """The running workers' process ids (none before the first backlog)."""
        return [w.pid for w in self._workers]

    def start(self) -> None:
        """Start the processes now (a bench starts them before its clock; the bot on its first backlog)."""
        if not self._workers:
            self._workers = [_Worker(self._pems) for _ in range(self._processes)]

    async def unwrap(self, wrapped: Sequence[Wrapped]) -> list[Unwrapped] | None:
        """The keys in order, or None when a worker died (the caller unwraps them itself)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._io, self.start)
            size = -(-len(wrapped) // len(self._workers))
            chunks = [wrapped[i : i + size] for i in range(0, len(wrapped), size)]
            calls = (loop.run_in_executor(self._io, w.unwrap, c) for w, c in zip(self._workers, chunks, strict=False))
            results = await asyncio.gather(*calls)
        except (WorkerDied, OSError) as exc:
            log.error("archive unwrap process failed (%s); this page is unwrapped in-process, workers restart", exc)
            self._stop_workers()
            return None
        return [key for chunk in results for key in chunk]

    def _stop_workers(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()

    def close(self) -> None:
        self._stop_workers()
        self._io.shutdown(wait=True, cancel_futures=True)
