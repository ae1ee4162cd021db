"""A low score on a ticket nobody owns: the managers get one alert saying both facts, not two."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.settings import ServiceSettings, Settings
from storage.models.tickets import Ticket
from tests.handlers.service_support import MANAGER, Harness


@pytest.fixture
def h(engine: AsyncEngine) -> Harness:
    # Nobody on duty: a customer with no owner rep gets an unassigned ticket.
    return Harness(engine, settings=Settings(service=ServiceSettings(managers=(MANAGER,))))


async def test_the_managers_get_one_alert_naming_the_low_score_and_the_unassigned_ticket_when_nobody_owns_it(
    h: Harness,
) -> None:
    await h.customer("wmPIA", owner=None, name="小皮")
    await h.feed(h.kf_ended("wmPIA"))
    await h.feed(h.kf_says("wmPIA", "⭐ 非常不满意", menu_id="csat_1"))
    async with h.sessions() as session:
        [ticket] = (await session.execute(select(Ticket))).scalars()
    assert (ticket.source, ticket.assignee_userid) == ("low_score", None)
    [alert] = await h.app_texts(MANAGER)
    assert alert.startswith("【客户低分：CSAT 1/5】")
    assert f"已开工单 T{ticket.id}" in alert and "负责人：待分配" in alert and f"「认领 T{ticket.id}」" in alert
