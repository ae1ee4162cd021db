"""Injected faults for /cgi-bin/ calls: an errcode answer, a slow answer, or a connection dropped before or after."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sandbox.model import ActionError
from sandbox.wire import Json

API_PREFIX: Final = "/cgi-bin/"
LATENCY_MAX_MS: Final = 120_000


class Drop(StrEnum):
    """When the connection is closed without an answer.

    BEFORE: the request is not executed (a send did not happen). AFTER: it is executed and only the answer is
    lost (the send happened), which is what crash-safe idempotency has to survive.
    """

    BEFORE = "before"
    AFTER = "after"


@dataclass(slots=True)
class Fault:
    fault_id: str
    # An exact path, or a prefix ending in "*" ("/cgi-bin/*" meets every API).
    api: str
    errcode: int | None
    latency_ms: int
    drop: Drop | None
    # 0 means "until cleared"; otherwise the fault meets this many requests and then stops.
    times: int
    remaining: int | None

    def matches(self, path: str) -> bool:
        if self.api.endswith("*"):
            return path.startswith(self.api[:-1])
        return path == self.api

    @property
    def executes(self) -> bool:
        """Whether a request met by this fault runs the API's effect."""
        return self.errcode is None and self.drop is not Drop.BEFORE

    def to_json(self) -> Json:
        drop = self.drop.value if self.drop else None
        return {
            "id": self.fault_id,
            "api": self.api,
            "errcode": self.errcode,
            "latency_ms": self.latency_ms,
            "drop": drop,
            "times": self.times,
            "remaining": self.remaining,
        }


def _refuse(code: str, zh: str, en: str) -> ActionError:
    return ActionError(400, code, zh, en)


class FaultBook:
    """Faults in the order they were added; a request meets the first one that matches its path."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._issued = 0

    def add(self, api: str, errcode: int | None, latency_ms: int, drop: str | None, times: int) -> Fault:
        if not api.startswith(API_PREFIX):
            raise _refuse("bad_api", f"api 须以 {API_PREFIX} 开头", f"api must start with {API_PREFIX}")
        if errcode == 0:
            raise _refuse("bad_errcode", "errcode 不能为 0（那是成功）", "errcode 0 is success, not a fault")
        if not 0 <= latency_ms <= LATENCY_MAX_MS:
            raise _refuse("bad_latency", "latency_ms 应在 0 到 120000 之间", "latency_ms must be 0-120000")
        if times < 0:
            raise _refuse("bad_times", "times 应为非负整数（0 表示直到清除）", "times must be >= 0 (0: until cleared)")
        when = self._drop(drop)
        if when is not None and errcode is not None:
            raise _refuse("bad_fault", "断开连接就没有应答，不能再指定 errcode", "a dropped connection has no errcode")
        if errcode is None and when is None and latency_ms == 0:
            raise _refuse("empty_fault", "请指定 errcode、latency_ms 或 drop", "give errcode, latency_ms or drop")
        self._issued += 1
        fault = Fault(f"f{self._issued}", api, errcode, latency_ms, when, times, times or None)
        self._faults.append(fault)
        return fault

    @staticmethod
    def _drop(drop: str | None) -> Drop | None:
        if drop is None:
            return None
        try:
            return Drop(drop)
        except ValueError:
            raise _refuse("bad_drop", "drop 只能是 before 或 after", "drop must be before or after") from None

    def take(self, path: str) -> Fault | None:
        """The fault this request meets, counted down (and removed once used up)."""
        for fault in self._faults:
            if not fault.matches(path):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
            return fault
        return None

    def active(self) -> list[Fault]:
        return list(self._faults)

    def clear(self, api: str | None = None) -> int:
        """Remove every fault, or only those registered for exactly `api`; returns how many were removed."""
        kept = [fault for fault in self._faults if api is not None and fault.api != api]
        removed = len(self._faults) - len(kept)
        self._faults = kept
        return removed
