"""The ticket lifecycle on SQLite and PostgreSQL: opening (idempotent, linked, reopened), assignment, status, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.policies import ticket_policy
from services.tickets import changes as ticket_changes
from services.tickets import opening as tickets
from services.tickets import views as ticket_views
from services.tickets.opening import Outcome, Problem, TicketError, TicketSource
from services.tickets.views import TicketFilter
from storage.repos import tickets as repo
from tests.handlers.service_support import MANAGER, ON_DUTY, OWNER, T0, Harness


@pytest.fixture
def h(engine: AsyncEngine) -> Harness:
    return Harness(engine)


async def _open(
    h: Harness, customer_id: int, source: TicketSource = TicketSource.COMPLAINT, **kw: object
) -> tickets.Opened:
    async with h.sessions() as session:
        opened = await tickets.open_or_link(
            session,
            h.now(),
            tickets.TicketRequest(
                customer_id=customer_id,
                subject=str(kw.pop("subject", "我要投诉，快递三天没动")),
                source=source,
                policy=ticket_policy(h.settings),
                **kw,  # type: ignore[arg-type]
            ),
        )
        await session.commit()
        return opened


async def test_a_new_ticket_goes_to_the_owner_with_deadlines_history_and_a_private_alert(h: Harness) -> None:
    customer = await h.customer("wmALICE", name="爱丽丝")
    opened = await _open(h, customer.id, source_key="complaint:kf:m1", priority="high")
    ticket = opened.ticket
    assert opened.outcome == Outcome.OPENED
    assert (ticket.status, ticket.assignee_userid, ticket.priority, ticket.source) == (
        "open",
        OWNER,
        "high",
        "complaint",
    )
    assert ticket.first_response_due_at == T0 + timedelta(minutes=30)
    # 24 business hours (09:00-18:00 on workdays): Monday 10:00 → Wednesday 16:00 in Shanghai.
    assert ticket.resolve_due_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    alerts = await h.app_texts(OWNER)
    assert len(alerts) == 1 and alerts[0].startswith(f"【新工单 T{ticket.id}】")
    assert "来源：投诉 · 优先级：高 · 客户：爱丽丝" in alerts[0] and f"「认领 T{ticket.id}」" in alerts[0]
    async with h.sessions() as session:
        assert [e.kind for e in await repo.events_of(session, ticket.id)] == ["opened"]


async def test_the_same_source_key_opens_one_ticket_and_alerts_once(h: Harness) -> None:
    customer = await h.customer("wmBOB")
    first = await _open(h, customer.id, source=TicketSource.HANDOFF, source_key="handoff:kf:m9")
    again = await _open(h, customer.id, source=TicketSource.HANDOFF, source_key="handoff:kf:m9")
    assert again.outcome == Outcome.EXISTING and again.ticket.id == first.ticket.id
    assert len(await h.app_texts(OWNER)) == 1
    async with h.sessions() as session:
        assert len(await repo.find(session, TicketFilter())) == 1


async def test_a_second_complaint_joins_the_live_one_but_a_manual_ticket_is_always_new(h: Harness) -> None:
    customer = await h.customer("wmCAROL")
    first = await _open(h, customer.id, source_key="complaint:1")
    second = await _open(h, customer.id, source_key="complaint:2", subject="还是没人管")
    assert second.outcome == Outcome.LINKED and second.ticket.id == first.ticket.id
    replay = await _open(h, customer.id, source_key="complaint:2")
    assert replay.outcome == Outcome.EXISTING  # a replayed cause that was linked is recognised too
    manual = await _open(h, customer.id, source=TicketSource.MANUAL, subject="手动跟进")
    assert manual.outcome == Outcome.OPENED and manual.ticket.id != first.ticket.id
    async with h.sessions() as session:
        kinds = [e.kind for e in await repo.events_of(session, first.ticket.id)]
    assert kinds == ["opened", "linked"]


async def test_a_handoff_joins_the_live_complaint_when_one_message_is_both(h: Harness) -> None:
    """ "我要投诉" in kf is a complaint (the ticket watcher) and a request for a person (the FAQ's hand-off)."""
    customer = await h.customer("wmCOMPLAIN")
    complaint = await _open(h, customer.id, source_key="complaint:kf:m7", subject="我要投诉")
    handoff = await _open(h, customer.id, source=TicketSource.HANDOFF, source_key="handoff:7", subject="转人工：投诉")
    assert handoff.outcome == Outcome.LINKED and handoff.ticket.id == complaint.ticket.id
    later = await _open(h, customer.id, source_key="complaint:kf:m8", subject="还是没人理")
    assert later.ticket.id == complaint.ticket.id
    async with h.sessions() as session:
        assert len(await repo.find(session, TicketFilter())) == 1


async def test_without_an_owner_the_least_loaded_on_duty_rep_gets_it_and_nobody_means_the_managers(h: Harness) -> None:
    a = await h.customer("wmD1", owner=None)
    b = await h.customer("wmD2", owner=None)
    first = await _open(h, a.id, source=TicketSource.MANUAL)
    second = await _open(h, b.id, source=TicketSource.MANUAL)
    assert (first.ticket.assignee_userid, second.ticket.assignee_userid) == ON_DUTY
    h.settings = h.settings.model_copy(update={"service": h.settings.service.model_copy(update={"on_duty": ()})})
    third = await _open(h, b.id, source=TicketSource.MANUAL)
    assert third.ticket.assignee_userid is None
    assert any(t.startswith(f"【新工单 T{third.ticket.id}（待分配）】") for t in await h.app_texts(MANAGER))


async def test_claim_pending_solve_close_and_who_may_do_what(h: Harness) -> None:
    customer = await h.customer("wmEVE")
    ticket_id = (await _open(h, customer.id)).ticket.id
    policy = ticket_policy(h.settings)
    async with h.sessions() as session:
        with pytest.raises(TicketError) as refused:
            await ticket_changes.solve(session, h.now(), ticket_id, "wangwu", policy=policy)
        assert refused.value.problem == Problem.NOT_YOURS and "由 lisi 负责" in refused.value.message
        claimed = await ticket_changes.claim(session, h.now(), ticket_id, "wangwu", policy=policy)
        assert claimed.assignee_userid == "wangwu"
        with pytest.raises(TicketError) as again:
            await ticket_changes.claim(session, h.now(), ticket_id, "wangwu", policy=policy)
        assert again.value.problem == Problem.ALREADY
        await ticket_changes.set_pending(session, h.now(), ticket_id, "wangwu", policy=policy)
        solved = await ticket_changes.solve(session, h.now(), ticket_id, MANAGER, policy=policy)  # a manager may
        assert (solved.status, solved.solved_at) == ("solved", T0)
        with pytest.raises(TicketError) as done:
            await ticket_changes.solve(session, h.now(), ticket_id, "wangwu", policy=policy)
        assert done.value.problem == Problem.ALREADY_DONE
        with pytest.raises(TicketError) as missing:
            await ticket_changes.claim(session, h.now(), 999, "wangwu", policy=policy)
        assert missing.value.message == "没有找到工单 T999"
        await session.commit()
    assert any("已被 wangwu 认领" in t for t in await h.app_texts(OWNER))  # the previous assignee is told

    async with h.sessions() as session:
        assert await ticket_changes.close_solved(session, T0 + timedelta(days=2, hours=23), timedelta(days=3)) == 0
        assert await ticket_changes.close_solved(session, T0 + timedelta(days=3), timedelta(days=3)) == 1
        await session.commit()
        closed = await repo.get(session, ticket_id)
        assert closed is not None and closed.status == "closed"
        kinds = [e.kind for e in await repo.events_of(session, ticket_id)]
    assert kinds == ["opened", "claimed", "pending", "solved", "closed"]


async def test_a_low_score_soon_after_solving_reopens_and_a_late_one_opens_anew(h: Harness) -> None:
    customer = await h.customer("wmFRANK")
    first = await _open(h, customer.id, source=TicketSource.LOW_SCORE, source_key="survey:1")
    async with h.sessions() as session:
        await ticket_changes.solve(session, h.now(), first.ticket.id, OWNER)
        await session.commit()
    h.advance(days=6)
    again = await _open(h, customer.id, source=TicketSource.LOW_SCORE, source_key="survey:2")
    assert again.outcome == Outcome.REOPENED and again.ticket.id == first.ticket.id
    assert (again.ticket.status, again.ticket.reopened, again.ticket.solved_at) == ("open", 1, None)
    assert any(t.startswith(f"【工单 T{first.ticket.id} 已重新打开】") for t in await h.app_texts(OWNER))
    async with h.sessions() as session:
        await ticket_changes.solve(session, h.now(), first.ticket.id, OWNER)
        await session.commit()
    h.advance(days=8)
    late = await _open(h, customer.id, source=TicketSource.LOW_SCORE, source_key="survey:3")
    assert late.outcome == Outcome.OPENED and late.ticket.id != first.ticket.id
    # Handoffs are not in tickets.reopen_sources: a solved one is never reopened by another handoff.
    hand = await _open(h, customer.id, source=TicketSource.HANDOFF, source_key="handoff:1")
    async with h.sessions() as session:
        await ticket_changes.solve(session, h.now(), hand.ticket.id, OWNER)
        await session.commit()
    assert (await _open(h, customer.id, source=TicketSource.HANDOFF, source_key="handoff:2")).outcome == Outcome.OPENED


async def test_counts_by_status_and_source_with_breaches(h: Harness) -> None:
    customer = await h.customer("wmGRACE")
    other = await h.customer("wmHEIDI")
    # Due after 24 business hours (Monday 10:00 → Wednesday 16:00), never solved.
    late = (await _open(h, customer.id, source=TicketSource.MANUAL)).ticket.id
    quick = (await _open(h, other.id)).ticket.id
    h.advance(hours=2)
    async with h.sessions() as session:
        await ticket_changes.solve(session, h.now(), quick, OWNER)
        await session.commit()
    async with h.sessions() as session:
        counts = await ticket_views.ticket_counts(session, T0, T0 + timedelta(days=3))
    data = counts.to_dict()
    assert data["opened"] == 2 and data["solved"] == 1 and data["reopened"] == 0
    assert data["by_status"] == {"open": 1, "pending": 0, "solved": 1, "closed": 0}
    assert data["by_source"]["manual"] == 1 and data["by_source"]["complaint"] == 1
    assert (data["overdue"], data["overdue_open"], data["avg_resolution_h"]) == (1, 1, 2.0)
    async with h.sessions() as session:
        early = await ticket_views.ticket_counts(session, T0, T0 + timedelta(days=3), now=T0 + timedelta(hours=3))
        listed = await ticket_views.list_tickets(session, TicketFilter(status=("open",)), T0 + timedelta(days=3))
    assert early.overdue == 0 and early.overdue_open == 0  # the deadline has not passed yet at `now`
    assert [v.id for v in listed] == [late] and listed[0].overdue
