"""Typed access to `Outbox.result`, the notes a row carries between attempts: what its claim reserved, how often
WeCom failed it, whether the same content went out just before, and WeCom's answer once sent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

# The keys below are stored in the database (and cleared by storage.repos.outbox.retry): never rename them.
_COUNTED = "counted"  # the claim charged the row's quota (kf/OA window, mass targets): a re-claim must not again
_KF_WINDOW_AT = "kf_window_at"  # the kf window the send was charged to, given back if nothing went out
_OVER_LIMIT = "over_limit"  # a mass task's targets past the monthly cap
_REPEAT = "repeat"  # earlier sends of the same content within WeCom's duplicate-check interval
_FAILURES = "failures"  # attempts that failed and were retried
_ANSWER = "answer"  # the ids WeCom answered a sent row with (msgid, jobid, ...)

Notes = Mapping[str, Any]


def counted(notes: Notes) -> bool:
    return bool(notes.get(_COUNTED))


def kf_window_at(notes: Notes) -> datetime | None:
    value = notes.get(_KF_WINDOW_AT)
    return datetime.fromisoformat(value) if value else None


def repeat(notes: Notes) -> int:
    return int(notes.get(_REPEAT, 0))


def failures(notes: Notes) -> int:
    return int(notes.get(_FAILURES, 0))


def kf_charged(window_at: datetime | None) -> dict[str, Any]:
    return {_COUNTED: True, _KF_WINDOW_AT: window_at.isoformat() if window_at else None}


def oa_charged() -> dict[str, Any]:
    return {_COUNTED: True}


def mass_charged(over_limit: int) -> dict[str, Any]:
    return {_COUNTED: True, _OVER_LIMIT: over_limit}


def repeated(count: int) -> dict[str, Any]:
    return {_REPEAT: count}


def with_failure(notes: Notes) -> dict[str, Any]:
    return {**notes, _FAILURES: failures(notes) + 1}


def with_answer(notes: Notes, answer: Mapping[str, Any]) -> dict[str, Any]:
    return {**notes, _ANSWER: dict(answer)}
