"""The memory gauges /metrics carries (bot/memory_metrics.py): present, and following what the process holds."""

from __future__ import annotations

from bot.metrics import Metrics


def gauges(metrics: Metrics) -> dict[str, float]:
    body, _ = metrics.render()
    found: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def test_metrics_say_resident_size_python_blocks_and_glibc_heap_when_scraped() -> None:
    found = gauges(Metrics())
    assert found["process_resident_memory_bytes"] > 0
    assert found["qunke_python_allocated_blocks"] > 0
    assert found['qunke_malloc_bytes{state="in_use"}'] > 0  # glibc: the Debian image and CI run on it
    assert 'qunke_malloc_bytes{state="free"}' in found
    assert 'qunke_gc_pending_objects{generation="0"}' in found


def test_python_blocks_follow_live_objects_when_many_are_held() -> None:
    metrics = Metrics()
    before = gauges(metrics)["qunke_python_allocated_blocks"]
    held = [[i] for i in range(50_000)]  # 50,000 small lists: two pymalloc blocks each at least
    during = gauges(metrics)["qunke_python_allocated_blocks"]
    assert during - before >= 50_000
    del held


def test_heap_in_use_follows_native_allocations_when_a_large_buffer_is_held() -> None:
    metrics = Metrics()
    before = gauges(metrics)
    held = [bytearray(64 * 1024) for _ in range(64)]  # 4 MiB from malloc, below its mmap threshold per block
    during = gauges(metrics)
    grown = sum(
        during[f'qunke_malloc_bytes{{state="{s}"}}'] - before[f'qunke_malloc_bytes{{state="{s}"}}']
        for s in ("in_use", "mmapped")
    )
    assert grown >= 4 * 1024 * 1024
    del held


async def test_asyncio_tasks_are_counted_when_scraped_inside_the_loop() -> None:
    found = gauges(Metrics())
    ours = {k: v for k, v in found.items() if k.startswith("qunke_asyncio_tasks{")}
    assert sum(ours.values()) >= 1  # this test's own task at least, by its coroutine's name
    assert any("test_asyncio_tasks_are_counted" in k for k in ours)


def test_waiting_callbacks_and_their_peak_are_counted_when_commits_overlap() -> None:
    metrics = Metrics()
    with metrics.callback_waiting(), metrics.callback_waiting():
        assert gauges(metrics)["qunke_callbacks_waiting"] == 2
    with metrics.callback_waiting():
        pass
    found = gauges(metrics)
    assert found["qunke_callbacks_waiting"] == 0
    assert found["qunke_callbacks_waiting_peak"] == 2
