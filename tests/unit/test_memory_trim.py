"""Freed heap pages go back to the system (bot/memory_trim.py): a fragmented heap shrinks in resident size."""

from __future__ import annotations

import pytest

from bot.memory_trim import MallocTrimmer, find_malloc_trim, resident_bytes
from bot.metrics import Metrics

MiB = 1024 * 1024


def fragment_heap() -> list[bytearray]:
    """100 MB of 1,000-byte buffers from malloc's heap, every 16th kept: ~94 MB freed between the kept ones, where
    glibc's own trimming (the heap's top only) cannot give it back."""
    made = [bytearray(1000) for _ in range(100_000)]
    return made[::16]


async def test_a_trim_gives_freed_heap_pages_back_when_the_heap_is_fragmented() -> None:
    trim = find_malloc_trim()
    if trim is None:
        pytest.skip("not glibc: malloc_trim does not exist here")
    trim(0)  # start from a trimmed heap, so what follows is this test's own fragmentation
    metrics = Metrics()
    kept = fragment_heap()
    before = resident_bytes()
    released = await MallocTrimmer(trim, metrics).trim_once()
    assert released >= 20 * MiB
    assert resident_bytes() <= before - 20 * MiB
    assert len(kept) == 6250 and all(len(b) == 1000 for b in kept)  # what is held stays intact
    assert metrics.malloc_trims._value.get() == 1
    assert metrics.malloc_trim_released._value.get() == released
