"""Complaint tickets from what customers say, through the real dispatcher: strong negative words and negations."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import ChatKind
from storage.models.tickets import Ticket
from tests.handlers.service_support import Harness


@pytest.fixture
def h(engine: AsyncEngine) -> Harness:
    return Harness(engine)


async def _tickets(h: Harness) -> list[Ticket]:
    async with h.sessions() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


@pytest.mark.parametrize("text", ["太失望了，非常不满意", "你们这是骗钱", "太坑了，给差评"])
async def test_strong_negative_words_open_a_complaint_ticket_when_a_customer_says_them(h: Harness, text: str) -> None:
    await h.customer("wmNIA")
    await h.feed(h.kf_says("wmNIA", text))
    [ticket] = await _tickets(h)
    assert (ticket.source, ticket.status, ticket.subject) == ("complaint", "open", text)


@pytest.mark.parametrize("text", ["我没有不满意，就是问问", "不是不满意，想再了解一下", "有点失望"])
async def test_no_ticket_is_opened_when_the_displeasure_is_negated_or_mild(h: Harness, text: str) -> None:
    await h.customer("wmOLA")
    await h.feed(h.kf_says("wmOLA", text))
    assert await _tickets(h) == []


async def _kf_texts(h: Harness) -> list[str]:
    return [str(r.payload.get("content", "")) for r in await h.outbox("kf_message")]


async def test_the_customer_is_told_the_complaint_is_registered_once_when_it_opens_a_ticket_in_kf(h: Harness) -> None:
    await h.customer("wmPIA")
    await h.feed(h.kf_says("wmPIA", "收到的东西质量太差了，非常失望，太不满意了"))
    await h.feed(h.kf_says("wmPIA", "太坑了，给差评"))  # joins the live ticket: no second acknowledgement
    [ticket] = await _tickets(h)
    ack = f"很抱歉给您带来不好的体验，我们已登记您的问题（T{ticket.id}），专人会尽快联系您处理。"
    assert await _kf_texts(h) == [ack]


async def test_nothing_is_said_in_a_group_when_a_complaint_there_opens_a_ticket(h: Harness) -> None:
    await h.customer("wmQIN")
    await h.feed(h.archive_says("wmQIN", "太失望了，非常不满意", ChatKind.GROUP, "wrGROUP1"))
    assert len(await _tickets(h)) == 1
    assert await _kf_texts(h) == []
