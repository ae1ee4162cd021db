"""kf pulls of one account: triggers queued behind a running pull are served by one pull that began after them."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.wecom.kf_turns import PullTurns


class Pulls:
    """A pull that reads what was said before it began, and can be held open to let triggers queue."""

    def __init__(self) -> None:
        self.said = 0
        self.begun: list[int] = []  # what had been said when each pull began
        self.release = asyncio.Event()
        self.failing: set[int] = set()  # which pulls (from 1) fail

    async def pull(self) -> int:
        self.begun.append(self.said)
        await self.release.wait()
        if len(self.begun) in self.failing:
            raise ConnectionError("sync_msg failed")
        return 1


async def test_queued_triggers_share_one_pull_that_began_after_them_when_a_pull_is_running() -> None:
    turns, pulls = PullTurns(), Pulls()
    first = asyncio.create_task(turns.take(pulls.pull))
    await asyncio.sleep(0)  # the first pull is running
    pulls.said = 5  # five more messages arrive, each with its callback
    queued = [asyncio.create_task(turns.take(pulls.pull)) for _ in range(5)]
    await asyncio.sleep(0)
    pulls.release.set()
    await asyncio.gather(first, *queued)
    # The first pull, then one that began after all five arrived (so it read their messages); four were covered.
    assert pulls.begun == [0, 5]
    assert turns.covered == 4


async def test_a_queued_trigger_pulls_itself_when_the_pull_that_would_cover_it_fails() -> None:
    turns, pulls = PullTurns(), Pulls()
    pulls.failing = {2}
    first = asyncio.create_task(turns.take(pulls.pull))
    await asyncio.sleep(0)
    second = asyncio.create_task(turns.take(pulls.pull))
    third = asyncio.create_task(turns.take(pulls.pull))
    await asyncio.sleep(0)
    pulls.release.set()
    await first
    # second's pull fails: it raises (the inbox retries its trigger), and third is not covered by it.
    with pytest.raises(ConnectionError):
        await second
    assert await third == 1
    assert len(pulls.begun) == 3 and turns.covered == 0
