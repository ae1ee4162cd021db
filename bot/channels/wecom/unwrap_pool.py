"""The archive's RSA unwraps in worker processes, a page at a time, and (when the source names how) the items opened
there too, so the event loop's process only parses the answer and stores.

cryptography releases the GIL inside an RSA decrypt, but each unwrap must take the GIL back to return, and while the
event loop stores the previous page it holds the GIL almost all the time: a decrypt thread then gets a fraction of a
core (measured: ~400 unwraps/s beside a busy Python thread, ~1,400/s alone). A process has its own GIL, so page
N+1's unwraps run on another core while page N is stored. The workers are plain subprocesses
(bot/channels/wecom/unwrap_worker.py, importing only cryptography; multiprocessing's spawn would import the whole
bot again in each); one request per chunk of a page amortises the pipe: wrapped keys (and the items' ciphertexts)
out, plain keys (or the messages) back.
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
from typing import Any

from bot.channels.wecom.archive_open import ItemUnreadable

log = logging.getLogger("qunke.archive")

Wrapped = tuple[int, str]  # (publickey_ver, encrypt_random_key in base64)
Unwrapped = bytes | str  # the plain key, or why it could not be unwrapped
Sealed = tuple[int, str, str]  # (publickey_ver, encrypt_random_key, encrypt_chat_msg)
OpenedInWorker = dict[str, Any] | ItemUnreadable  # the message, or why the item cannot be read


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

    def __init__(self, pems: Mapping[int, bytes], opener: Mapping[str, str] | None) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "bot.channels.wecom.unwrap_worker"],  # -P: not whatever is in the cwd
            env=_same_code_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="ascii",
        )
        self._lock = threading.Lock()
        self._send(json.dumps({"keys": {str(v): pem.decode() for v, pem in pems.items()}, "opener": opener}))

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _send(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def unwrap(self, wrapped: Sequence[Wrapped]) -> list[Unwrapped]:
        """Blocking: run on a thread. Raises WorkerDied."""
        answer = self._ask([[v, key, None] for v, key in wrapped])
        return [base64.b64decode(a[1]) if a[0] == "k" else str(a[2]) for a in answer]

    def open(self, sealed: Sequence[Sealed]) -> list[OpenedInWorker]:
        """Blocking: run on a thread. Raises WorkerDied."""
        answer = self._ask(sealed)
        return [a[1] if a[0] == "m" and isinstance(a[1], dict) else _unreadable(a) for a in answer]

    def _ask(self, request: Sequence[Sequence[object]]) -> list[list[Any]]:
        assert self._proc.stdout is not None
        with self._lock:
            try:
                self._send(json.dumps(request))
                answer = json.loads(self._proc.stdout.readline() or "null")
            except (OSError, ValueError) as exc:
                raise WorkerDied(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(answer, list) or len(answer) != len(request):
            raise WorkerDied(f"exit code {self._proc.poll()}" if answer is None else "answer out of step")
        return answer

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

    def __init__(self, pems: Mapping[int, bytes], processes: int, opener: Mapping[str, str] | None = None) -> None:
        """`opener`: the source's worker_opener(); without it the workers unwrap keys only (`open` is refused)."""
        self._pems, self._processes, self._opener = dict(pems), max(1, processes), opener
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
            self._workers = [_Worker(self._pems, self._opener) for _ in range(self._processes)]

    @property
    def opens_items(self) -> bool:
        """Whether the workers can open items (the source named how), not only unwrap their keys."""
        return self._opener is not None

    async def unwrap(self, wrapped: Sequence[Wrapped]) -> list[Unwrapped] | None:
        """The keys in order, or None when a worker died (the caller unwraps them itself)."""
        return await self._spread(wrapped, _Worker.unwrap)

    async def open(self, sealed: Sequence[Sealed]) -> list[OpenedInWorker] | None:
        """The items' messages (or why each is unreadable) in order, or None when a worker died (the caller opens
        them itself)."""
        assert self.opens_items, "the source named no worker opener"
        return await self._spread(sealed, _Worker.open)

    async def _spread(self, requests: Sequence[Any], call: Any) -> list[Any] | None:
        """One chunk per worker, answers in the requests' order."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._io, self.start)
            size = -(-len(requests) // len(self._workers))
            chunks = [requests[i : i + size] for i in range(0, len(requests), size)]
            calls = (loop.run_in_executor(self._io, call, w, c) for w, c in zip(self._workers, chunks, strict=False))
            results = await asyncio.gather(*calls)
        except (WorkerDied, OSError) as exc:
            log.error("archive unwrap process failed (%s); this page is opened in-process, workers restart", exc)
            self._stop_workers()
            return None
        return [answer for chunk in results for answer in chunk]

    def _stop_workers(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()

    def close(self) -> None:
        self._stop_workers()
        self._io.shutdown(wait=True, cancel_futures=True)


def _unreadable(answer: list[Any]) -> ItemUnreadable:
    """An ["e", reason, detail] answer (or anything else a worker should not have sent) as the item's failure."""
    if answer[0] == "e" and len(answer) == 3:
        return ItemUnreadable(str(answer[1]), str(answer[2]))
    return ItemUnreadable("bad_json", "not an object")
