"""bot/app.py's service-loop wiring: the loud holiday-data warning at start-up and the scheduled SLA tick."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.service import HolidaySettings
from bot.config.settings import Settings
from bot.jobs import setup_service_loop
from bot.scheduler import Scheduler
from bot.tasks import BackgroundTasks
from services.clock import ManualClock
from services.service.calendar import forget_warnings
from tests.unit.service_world import GROUP, SERVICE, cn, make_world


@pytest.fixture(autouse=True)
def fresh_process_warnings() -> None:
    """The holiday warning is once per process; each test starts as a new process would."""
    forget_warnings()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


async def test_start_up_warns_loudly_about_next_year_and_the_job_runs_the_tick(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    world = await make_world(engine, cn(2026, 12, 21, 10, 0))
    await world.customer("wmA", "甲", owner="zhangsan")
    await world.say("请问怎么退货？", chat=GROUP, customer="wmA", at=cn(2026, 12, 21, 10, 0))
    clock = ManualClock(cn(2026, 12, 21, 10, 20))
    scheduler = Scheduler(BackgroundTasks(), "Asia/Shanghai")
    with caplog.at_level(logging.WARNING):
        setup_service_loop(scheduler, world.sessions, clock, Settings(service=SERVICE))
    [warning] = [w for w in warnings_of(caplog) if "holiday data" in w]
    assert "2027" in warning and "service.holidays" in warning

    await scheduler.run_now("service-sla")
    assert [to for to, _ in await world.alerts()] == ["zhangsan"]


async def test_start_up_is_quiet_when_config_covers_the_years_without_data(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    world = await make_world(engine, cn(2026, 12, 21, 10, 0))
    holidays = (HolidaySettings(date=date(2027, 1, 1), kind="holiday", name="元旦"),)
    settings = Settings(service=SERVICE.model_copy(update={"holidays": holidays}))
    with caplog.at_level(logging.WARNING):
        setup_service_loop(Scheduler(BackgroundTasks(), "Asia/Shanghai"), world.sessions, world.clock, settings)
    assert not [w for w in warnings_of(caplog) if "holiday data" in w]
