"""Where this process's memory is, in /metrics: resident size, Python's live blocks, glibc's heap in use and held free,
live asyncio tasks; cheap enough to read on every scrape, so a growth can be told apart (objects, native, freed)."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _MallInfo2(ctypes.Structure):
    """glibc's `struct mallinfo2` (2.33+): byte counts as size_t, summed over every arena."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def glibc_function(name: str) -> Any | None:
    """A function of the C library by name, or None where there is none (musl, macOS, an older glibc)."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """glibc's mallinfo2, or None on another libc or an older glibc: the malloc gauge is then absent."""
    call = glibc_function("mallinfo2")
    if call is not None:
        call.restype, call.argtypes = _MallInfo2, []
    return call


class MemoryCollector(Collector):
    """Read at scrape time; nothing runs between scrapes."""

    def __init__(self) -> None:
        self._mallinfo2 = _mallinfo2()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        blocks = GaugeMetricFamily(
            "qunke_python_allocated_blocks",
            "Memory blocks Python's allocator holds for live objects (sys.getallocatedblocks): grows only with objects",
        )
        blocks.add_metric([], sys.getallocatedblocks())
        yield blocks
        tracked = GaugeMetricFamily(
            "qunke_gc_pending_objects",
            "Allocations minus deallocations since each generation was last collected (gc.get_count)",
            labels=["generation"],
        )
        for generation, count in enumerate(gc.get_count()):
            tracked.add_metric([str(generation)], count)
        yield tracked
        frozen = GaugeMetricFamily(
            "qunke_gc_frozen_objects",
            "Objects frozen after start-up (gc.get_freeze_count): never rescanned by a collection",
        )
        frozen.add_metric([], gc.get_freeze_count())
        yield frozen
        tasks = GaugeMetricFamily(
            "qunke_asyncio_tasks",
            "asyncio tasks alive on this process's event loop, by the coroutine each runs (a bounded set of names)",
            labels=["coroutine"],
        )
        for name, count in sorted(_live_tasks().items()):
            tasks.add_metric([name], count)
        yield tasks
        if self._mallinfo2 is not None:
            yield self._malloc(self._mallinfo2())

    @staticmethod
    def _malloc(info: _MallInfo2) -> GaugeMetricFamily:
        heap = GaugeMetricFamily(
            "qunke_malloc_bytes",
            "glibc heap (mallinfo2): in_use (allocated chunks), free (freed but kept by malloc: fragmentation), "
            "mmapped (large blocks mapped on their own)",
            labels=["state"],
        )
        heap.add_metric(["in_use"], info.uordblks)
        heap.add_metric(["free"], info.fordblks)
        heap.add_metric(["mmapped"], info.hblkhd)
        return heap


def _live_tasks() -> Counter[str]:
    """Live tasks by their coroutine's qualified name: code names, so the label's values stay few."""
    try:
        live = asyncio.all_tasks()
    except RuntimeError:  # scraped outside a running loop (a test's registry read): no tasks to count
        return Counter()
    return Counter(getattr(t.get_coro(), "__qualname__", "other") for t in live)


def register_memory_metrics(registry: CollectorRegistry) -> None:
    """The standard process (RSS, CPU, fds) and gc collectors, and ours."""
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(MemoryCollector())
