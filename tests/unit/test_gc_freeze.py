"""After start-up the heap built so far is frozen (out of the cyclic collector's scans) until the app stops."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.gc_freeze import setup_gc_freeze


class Node:
    """A container the cyclic collector tracks."""

    def __init__(self) -> None:
        self.peer: Node | None = None


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # other tests must not inherit a frozen heap


async def test_startup_heap_is_frozen_and_later_objects_are_still_collected() -> None:
    app = web.Application()
    built_at_startup: list[Node] = []
    app.on_startup.append(lambda _app: _build(built_at_startup))
    setup_gc_freeze(app)
    server = TestServer(app)
    await server.start_server()
    try:
        assert gc.get_freeze_count() > 0
        tracked = {id(o) for o in gc.get_objects()}
        assert id(built_at_startup[0]) not in tracked  # frozen: no collection scans it
        later = Node()
        assert id(later) in {id(o) for o in gc.get_objects()}
        cycle_a, cycle_b = Node(), Node()
        cycle_a.peer, cycle_b.peer = cycle_b, cycle_a
        del cycle_a, cycle_b
        assert gc.collect() >= 2  # garbage made after start-up is still found
    finally:
        await server.close()
    assert gc.get_freeze_count() == 0  # stopped: its objects are collectable again


async def _build(into: list[Node]) -> None:
    into.append(Node())
