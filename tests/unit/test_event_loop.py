"""Which event loop a long-running process gets: uvloop where installed, the standard loop when asked or missing."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from bot import event_loop


async def _name() -> str:
    await asyncio.sleep(0)
    return event_loop.running_loop_name()


def test_auto_runs_on_uvloop_where_it_is_installed() -> None:
    assert importlib.util.find_spec("uvloop") is not None  # a dependency on this platform
    assert event_loop.resolve("auto") == "uvloop"
    assert event_loop.run(_name(), "auto") == "uvloop"


def test_asyncio_keeps_the_standard_loop() -> None:
    assert event_loop.run(_name(), "asyncio") == "asyncio"


def test_auto_falls_back_and_an_explicit_uvloop_names_the_key_when_uvloop_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a))
    assert event_loop.resolve("auto") == "asyncio"
    with pytest.raises(event_loop.EventLoopUnavailable, match=r"server\.event_loop"):
        event_loop.resolve("uvloop")
