"""ReadAhead: the next page is read while the current one is stored, and used only for exactly that position."""

from __future__ import annotations

import asyncio

from bot.channels.wecom.read_ahead import ReadAhead

PAGE = 3


class Archive:
    """Positions 1..size, read `PAGE` at a time; records every read it served."""

    def __init__(self, size: int) -> None:
        self.size, self.reads, self.fail_at = size, list[int](), set[int]()

    async def read(self, pos: int) -> list[int]:
        await asyncio.sleep(0)
        self.reads.append(pos)
        if pos in self.fail_at:
            self.fail_at.discard(pos)
            raise ConnectionError("archive unreachable")
        return list(range(pos + 1, min(pos + PAGE, self.size) + 1))


def after(pos: int, page: list[int]) -> int | None:
    return page[-1] if len(page) == PAGE else None


async def test_each_full_page_starts_reading_the_next_when_read_in_order() -> None:
    archive = Archive(7)
    ahead = ReadAhead(archive.read, after)
    assert await ahead.read(0) == [1, 2, 3]
    await asyncio.sleep(0.01)  # the caller stores page one meanwhile
    assert archive.reads == [0, 3]  # page two was read without being asked
    assert await ahead.read(3) == [4, 5, 6]
    assert await ahead.read(6) == [7]
    assert archive.reads == [0, 3, 6]  # each position once; nothing after a short page


async def test_a_page_read_ahead_is_dropped_when_the_cursor_moved_elsewhere() -> None:
    archive = Archive(9)
    ahead = ReadAhead(archive.read, after)
    await ahead.read(0)
    assert await ahead.read(0) == [1, 2, 3]  # the page was not committed: the same position again
    assert archive.reads[-1] == 0
    ahead.close()


async def test_a_failed_read_ahead_is_read_again_when_its_page_is_asked_for() -> None:
    archive = Archive(9)
    archive.fail_at.add(3)
    ahead = ReadAhead(archive.read, after)
    await ahead.read(0)
    assert await ahead.read(3) == [4, 5, 6]
    assert archive.reads[:3] == [0, 3, 3]
    ahead.close()


async def test_two_pages_ahead_are_read_in_order_and_each_position_once_when_the_depth_is_two() -> None:
    archive = Archive(13)
    ahead = ReadAhead(archive.read, after, depth=2)
    assert await ahead.read(0) == [1, 2, 3]
    await asyncio.sleep(0.01)  # the caller stores page one meanwhile
    assert archive.reads == [0, 3, 6] and ahead.positions == [3, 6]  # two pages ahead, no more
    assert await ahead.read(3) == [4, 5, 6]
    await asyncio.sleep(0.01)
    assert ahead.positions == [6, 9]  # the queue refilled behind the page taken
    assert await ahead.read(6) == [7, 8, 9]
    assert await ahead.read(9) == [10, 11, 12]
    assert await ahead.read(12) == [13]
    assert archive.reads == [0, 3, 6, 9, 12] and ahead.positions == []  # nothing after a short page


async def test_every_page_ahead_is_dropped_when_the_cursor_moved_elsewhere_at_depth_two() -> None:
    archive = Archive(13)
    ahead = ReadAhead(archive.read, after, depth=2)
    await ahead.read(0)
    await asyncio.sleep(0.01)
    assert ahead.positions == [3, 6]
    assert await ahead.read(0) == [1, 2, 3]  # the page was not committed: read again, the pages ahead dropped
    assert archive.reads == [0, 3, 6, 0]
    await asyncio.sleep(0.01)
    assert ahead.positions == [3, 6]  # and read ahead again from there
    ahead.close()
    assert ahead.positions == []
