"""The start-up group sync against the sandbox: a directory failure is one warning and a retry, not a traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.channels.wecom.client import WeComClient
from bot.channels.wecom.directory import WeComDirectory
from bot.ingest.startup_sync import sync_groups_until_done
from bot.metrics import Metrics
from services.clock import SystemClock
from tests.support.stack import DEMO, running_stack


async def test_group_sync_warns_once_and_retries_when_the_directory_fails_at_start(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_stack(database_url) as stack:
        fault = {"api": "/cgi-bin/externalcontact/groupchat/list", "errcode": 60011, "times": 1}
        async with stack.http.post(f"{stack.sandbox_url}/sandbox/faults", json=fault) as resp:
            assert resp.status == 200, await resp.text()
        directory = WeComDirectory(WeComClient(stack.http, stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5))
        metrics, queued = Metrics(), asyncio.Event()
        caplog.set_level(logging.WARNING, logger="qunke.sync")
        sync = sync_groups_until_done(
            stack.sessions, directory, SystemClock(), queued.set, metrics, 0.1, asyncio.Event()
        )
        await asyncio.wait_for(sync, 30)
        assert queued.is_set()
        assert metrics.group_sync_failures._value.get() == 1
        warnings = [r for r in caplog.records if r.name == "qunke.sync" and r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
        assert "retrying in" in warnings[0].getMessage() and warnings[0].exc_info is None


async def test_group_sync_gives_up_quietly_when_the_bot_stops_during_an_outage(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        fault = {"api": "/cgi-bin/externalcontact/groupchat/list", "errcode": 60011, "times": 1000}
        async with stack.http.post(f"{stack.sandbox_url}/sandbox/faults", json=fault) as resp:
            assert resp.status == 200, await resp.text()
        directory = WeComDirectory(WeComClient(stack.http, stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5))
        metrics, stop = Metrics(), asyncio.Event()
        task = asyncio.create_task(
            sync_groups_until_done(stack.sessions, directory, SystemClock(), lambda: None, metrics, 60, stop)
        )
        deadline = asyncio.get_running_loop().time() + 15
        while metrics.group_sync_failures._value.get() < 1:
            assert asyncio.get_running_loop().time() < deadline, "the sync never failed"
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 5)
