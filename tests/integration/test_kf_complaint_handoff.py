"""A kf customer who complains is handed to a person at once, not left in silence while a ticket is filed."""

from __future__ import annotations

from sqlalchemy import select

from storage.models.tickets import Ticket
from tests.integration.test_faq import eventually, logged
from tests.integration.test_kf_handoff import service_state, stack_with
from tests.support.stack import Stack


async def _tickets(stack: Stack) -> list[tuple[str, str]]:
    async with stack.sessions() as session:
        rows = (await session.execute(select(Ticket.source, Ticket.status))).all()
    return [(str(source), str(status)) for source, status in rows]


async def test_the_complaining_customer_hears_a_person_is_coming_when_they_complain_in_kf(database_url: str) -> None:
    async with stack_with(database_url, on_duty=("wangwu",)) as stack:
        said = await stack.act("kf-say", customer="new", text="你们的课太差了，我要投诉，老师一直不回消息")
        kfid, customer = said["open_kfid"], said["external_userid"]
        await eventually(logged(stack, "kf_send", "正在为您转接人工客服", touser=customer))
        assert await service_state(stack, kfid, customer) == (3, "wangwu")
        await eventually(logged(stack, "app_message", "客户投诉"))
        await stack.settle()
        assert [source for source, _ in await _tickets(stack)] == ["complaint"]  # one ticket, not two


async def test_a_short_complaint_opens_one_ticket_when_it_is_also_a_request_for_a_person(database_url: str) -> None:
    async with stack_with(database_url, on_duty=("wangwu",)) as stack:
        said = await stack.act("kf-say", customer="new", text="我要投诉")
        await eventually(logged(stack, "kf_send", "正在为您转接人工客服", touser=said["external_userid"]))
        await stack.settle()
        assert [source for source, _ in await _tickets(stack)] == ["complaint"]
