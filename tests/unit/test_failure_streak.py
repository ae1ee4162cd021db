"""A run of failures is a handful of log lines: the start (one traceback), new kinds, a count now and then, the end."""

from __future__ import annotations

import logging

import pytest

from bot.failure_streak import FailureStreak


def _raised(exc: BaseException) -> BaseException:
    """The exception as a worker catches it: raised, with a traceback."""
    try:
        raise exc
    except BaseException as caught:
        return caught


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_ten_thousand_failures_log_a_few_lines_and_one_traceback_when_the_database_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = _Clock()
    streak = FailureStreak(
        logging.getLogger("t.streak"), "inbox write", recovered="database reachable again", monotonic=clock
    )
    with caplog.at_level(logging.INFO, logger="t.streak"):
        for i in range(10_000):
            clock.now = i * 0.03  # 300 s of failures, 33 a second
            streak.failed(_raised(ConnectionRefusedError(111, "Connect call failed")))
        streak.failed(_raised(TimeoutError()))
        clock.now = 301.0
        streak.succeeded()
    lines = [r for r in caplog.records if r.name == "t.streak"]
    assert len(lines) <= 8, [r.getMessage() for r in lines]
    assert sum(1 for r in lines if r.exc_info) == 1
    assert any("still failing after" in r.getMessage() and "× ConnectionRefusedError" in r.getMessage() for r in lines)
    assert any("failed another way" in r.getMessage() for r in lines)
    assert lines[-1].getMessage() == "inbox write: database reachable again after 10001 failures over 301 s"
    assert streak.to_dict()["failing"] is False and streak.last_success is not None


def test_backoff_doubles_up_to_its_cap_when_failures_repeat() -> None:
    streak = FailureStreak(logging.getLogger("t.backoff"), "sender cycle")
    assert streak.backoff_s(0.25, 15) == 0
    delays = []
    for _ in range(10):
        streak.failed(OSError("down"))
        delays.append(streak.backoff_s(0.25, 15))
    assert delays[:4] == [0.25, 0.5, 1.0, 2.0] and delays[-1] == 15
    streak.succeeded()
    assert streak.backoff_s(0.25, 15) == 0


def test_a_flapping_database_gets_one_traceback_when_streaks_restart_within_minutes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = _Clock()
    streak = FailureStreak(logging.getLogger("t.flap"), "sender cycle", monotonic=clock)
    with caplog.at_level(logging.INFO, logger="t.flap"):
        for second in range(5):
            clock.now = float(second)
            streak.failed(_raised(OSError("down")))
            streak.succeeded()
    assert sum(1 for r in caplog.records if r.name == "t.flap" and r.exc_info) == 1


def test_a_failure_described_by_an_exception_never_raised_is_one_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The inbox writer's late callbacks: nothing raised, so a traceback would only repeat the message."""
    streak = FailureStreak(logging.getLogger("t.late"), "inbox write")
    with caplog.at_level(logging.INFO, logger="t.late"):
        streak.failed(RuntimeError("3 callbacks waited over 3 s"))
        streak.succeeded()
        streak.failed(_raised(OSError("down")))  # a raised one later still gets its traceback
    records = [r for r in caplog.records if r.name == "t.late"]
    assert [bool(r.exc_info) for r in records] == [False, False, True]
    assert "3 callbacks waited over 3 s" in records[0].getMessage()
