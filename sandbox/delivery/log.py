"""The delivery log: every callback attempt (and later every message the bot sends), in memory and as JSON lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Protocol

from sandbox.clock import Clock
from sandbox.wire import Json

logger = logging.getLogger(__name__)

# Enough for a long demo; older entries fall off the front but keep their seq numbers.
MAX_ENTRIES: Final = 100_000
# The newest entries kept in the state file across a restart: `sandbox log` still shows recent history.
PERSISTED_ENTRIES: Final = 5_000


class LogRecord(Protocol):
    """Anything the log can hold: a kind name and its JSON fields (seq and at are added by the log)."""

    @property
    def kind(self) -> str: ...

    def fields(self) -> Json: ...


@dataclass(frozen=True, slots=True)
class CallbackAttempt:
    delivery_id: str
    event: str
    change_type: str
    attempt: int
    duplicate: bool
    delayed_s: float
    outcome: str
    http_status: int | None
    plaintext: str
    note: str = ""

    @property
    def kind(self) -> str:
        return "callback"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RestoredRecord:
    """A record from before a restart, kept as the JSON it was logged as."""

    kind: str
    body: Json

    def fields(self) -> Json:
        return dict(self.body)


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    at: str
    record: LogRecord

    def to_json(self) -> Json:
        return {"seq": self.seq, "at": self.at, "kind": self.record.kind, **self.record.fields()}


class DeliveryLog:
    def __init__(self, clock: Clock, path: Path | None = None) -> None:
        self._clock = clock
        self._path = path
        self._entries: deque[LogEntry] = deque(maxlen=MAX_ENTRIES)
        self._seq = 0
        self._lines: asyncio.Queue[str] | None = None
        self._writer: asyncio.Task[None] | None = None

    def append(self, record: LogRecord) -> LogEntry:
        self._seq += 1
        entry = LogEntry(self._seq, self._clock.now().isoformat(), record)
        self._entries.append(entry)
        if self._lines is not None:
            self._lines.put_nowait(json.dumps(entry.to_json(), ensure_ascii=False))
        return entry

    @property
    def last_seq(self) -> int:
        return self._seq

    def snapshot(self) -> Json:
        kept = list(self._entries)[-PERSISTED_ENTRIES:]
        return {"seq": self._seq, "entries": [entry.to_json() for entry in kept]}

    def restore(self, data: Json) -> None:
        """Earlier entries come back as RestoredRecords; seq numbering continues where it stopped."""
        seq, entries = data.get("seq"), data.get("entries")
        if not isinstance(seq, int) or not isinstance(entries, list):
            raise ValueError("log: expected seq and entries")
        self._entries.clear()
        for raw in entries:
            body = {k: v for k, v in raw.items() if k not in ("seq", "at", "kind")}
            self._entries.append(LogEntry(int(raw["seq"]), str(raw["at"]), RestoredRecord(str(raw["kind"]), body)))
        self._seq = seq

    def since(self, seq: int = 0) -> list[LogEntry]:
        return [entry for entry in self._entries if entry.seq > seq]

    async def start(self) -> None:
        """Start the file writer; file I/O runs in a thread so the loop never blocks on disk."""
        if self._path is None:
            return
        self._lines = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_forever(self._lines, self._path), name="sandbox-log-writer")

    async def close(self) -> None:
        """Flush every queued line, then stop the writer."""
        if self._lines is None or self._writer is None:
            return
        await self._lines.join()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._lines = None
        self._writer = None

    @staticmethod
    async def _write_forever(lines: asyncio.Queue[str], path: Path) -> None:
        while True:
            batch = [await lines.get()]
            while not lines.empty():
                batch.append(lines.get_nowait())
            try:
                await asyncio.to_thread(_append_lines, path, batch)
            except OSError:
                logger.exception("cannot append to the sandbox log file %s", path)
            finally:
                for _ in batch:
                    lines.task_done()


def _append_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
