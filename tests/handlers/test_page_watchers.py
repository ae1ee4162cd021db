"""Intake feeds a page of messages to the watchers with facts loaded once per page: answers stay per message."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import ChatKind, ChatMessage, Event, MessageChannel, MessageRecalled, Speaker
from services.faq.engine import Deciding, FaqEngine
from services.faq.jobs import FAQ_QUESTION_KIND, message_key_of
from services.faq.match_settings import MatcherSettings
from services.faq.matcher import build_matcher_async
from services.faq.types import KbItem
from storage.models.customers import Customer, Member
from storage.models.groups import Group
from storage.models.inbox import InboundEvent
from storage.models.messages import Message
from storage.models.service import ChatWait
from storage.models.surveys import Survey
from tests.handlers.service_support import Harness

GROUP = "wrPAGE001"


@pytest.fixture
def h(engine: AsyncEngine) -> Harness:
    return Harness(engine)


async def _surveys(h: Harness) -> list[Survey]:
    async with h.sessions() as session:
        return list((await session.execute(select(Survey).order_by(Survey.id))).scalars())


async def _waits(h: Harness) -> list[ChatWait]:
    async with h.sessions() as session:
        return list((await session.execute(select(ChatWait).order_by(ChatWait.id))).scalars())


async def test_a_survey_asked_mid_page_is_answered_by_a_later_message_when_both_come_in_one_page(h: Harness) -> None:
    await h.customer("wmAMY")
    await h.feed(h.kf_says("wmAMY", "5"), h.kf_ended("wmAMY"), h.kf_says("wmAMY", "⭐⭐⭐⭐ 满意", menu_id="csat_4"))
    [answered] = await _surveys(h)
    assert (answered.status, answered.score) == ("answered", 4)


async def test_a_pending_survey_is_answered_when_other_customers_share_the_page(h: Harness) -> None:
    await h.customer("wmBEN")
    await h.customer("wmCAT")
    await h.feed(h.kf_ended("wmBEN"))
    await h.feed(h.kf_says("wmCAT", "5"), h.kf_says("wmBEN", "我买了5件"), h.kf_says("wmBEN", "5分"))
    [done] = await _surveys(h)
    assert (done.status, done.score, done.answer_text) == ("answered", 5, "5分")


async def test_each_question_in_a_group_page_opens_a_wait_for_the_group_owner_when_the_group_is_known(
    h: Harness,
) -> None:
    async with h.sessions() as session:
        session.add(Group(chat_id=GROUP, name="售后群", owner_userid="lisi"))
        await session.commit()
    await h.feed(
        h.archive_says("wmDAN", "请问什么时候发货？", ChatKind.GROUP, GROUP),
        h.archive_says("wmEVE", "请问能退货吗？", ChatKind.GROUP, GROUP),
        h.archive_says("wmDAN", "请问还有别的颜色吗？", ChatKind.GROUP, GROUP),
        h.archive_says("wmFAY", "请问这个多少钱？", ChatKind.GROUP, "wrNOBODY"),
    )
    waits = await _waits(h)
    assert [(w.chat_id, w.owner_userid, w.question) for w in waits] == [
        (GROUP, "lisi", "请问什么时候发货？"),
        (GROUP, "lisi", "请问能退货吗？"),
        ("wrNOBODY", None, "请问这个多少钱？"),
    ]


def _faq() -> FaqEngine:
    async def build(items: Sequence[KbItem]) -> Deciding:
        return await build_matcher_async(items, MatcherSettings())

    return FaqEngine(build)


@pytest.fixture
def hf(engine: AsyncEngine) -> Harness:
    """Every feature on: the FAQ engine too, so customer questions are queued as FAQ jobs."""
    return Harness(engine, faq=_faq())


def _member_in_group(h: Harness, userid: str, text: str, chat_id: str) -> ChatMessage:
    msgid = f"r{next(h._ids)}"
    return ChatMessage(
        occurred_at=h.now(),
        source_key=f"archive:{msgid}",
        channel=MessageChannel.ARCHIVE,
        chat_kind=ChatKind.GROUP,
        chat_id=chat_id,
        msgid=msgid,
        speaker=Speaker.MEMBER,
        speaker_id=userid,
        customer=None,
        member_userid=userid,
        msgtype="text",
        text=text,
        body={"content": text},
    )


def _mixed_page(h: Harness, p: str) -> list[Event]:
    """Questions in a group and in kf, a repeat, a rep's answer mid-page and a question after it, a recall and a
    kf session's end; `p` keeps two copies of it apart in one database."""
    group, steps = f"wr{p}MIX", []

    def at_next_second(e: Event) -> None:
        steps.append(e)
        h.advance(seconds=5)

    at_next_second(h.archive_says(f"wm{p}DAN", "请问什么时候发货？", ChatKind.GROUP, group))
    at_next_second(h.archive_says(f"wm{p}EVE", "请问能退货吗？", ChatKind.GROUP, group))
    at_next_second(h.archive_says(f"wm{p}DAN", "请问还有别的颜色吗？", ChatKind.GROUP, group))
    at_next_second(_member_in_group(h, "lisi", "都有的，明天发货", group))
    at_next_second(h.archive_says(f"wm{p}DAN", "请问几天能到？", ChatKind.GROUP, group))
    asked = h.kf_says(f"wm{p}FAY", "请问怎么开发票？")
    at_next_second(asked)
    at_next_second(h.kf_says(f"wm{p}GUS", "请问还有货吗？"))
    at_next_second(MessageRecalled(h.now(), f"recall:{p}", MessageChannel.KF, asked.msgid, f"wm{p}FAY"))
    at_next_second(h.kf_ended(f"wm{p}GUS"))
    at_next_second(h.kf_says(f"wm{p}GUS", "5"))
    at_next_second(h.kf_says(f"wm{p}FAY", "请问发票抬头怎么改？"))
    at_next_second(_member_in_group(h, "lisi", "@DAN 三天左右", group))
    return steps


async def _outcome(h: Harness, p: str) -> dict[str, list[Any]]:
    """What the features wrote for copy `p`, with the copy's marks taken out so two copies compare equal."""
    async with h.sessions() as session:
        waits = await session.execute(
            select(ChatWait.chat_id, Customer.external_userid, ChatWait.question, ChatWait.status, ChatWait.answered_by)
            .join(Customer, Customer.id == ChatWait.customer_id)
            .where(Customer.external_userid.startswith(f"wm{p}"))
            .order_by(ChatWait.id)
        )
        texts = {key: text for key, text in await session.execute(select(Message.source_key, Message.text))}
        senders = {key: by for key, by in await session.execute(select(Message.source_key, Message.sender_id))}
        jobs = (
            await session.execute(
                select(InboundEvent.payload).where(InboundEvent.kind == FAQ_QUESTION_KIND).order_by(InboundEvent.id)
            )
        ).scalars()
        keys = [message_key_of(payload) for payload in jobs]
        surveys = await session.execute(
            select(Customer.external_userid, Survey.status, Survey.score)
            .join(Customer, Customer.id == Survey.customer_id)
            .where(Customer.external_userid.startswith(f"wm{p}"))
        )
    return {
        "waits": [tuple(str(v).replace(p, "") for v in row) for row in waits],
        "faq jobs": [(senders[k].replace(p, ""), texts[k]) for k in keys if senders[k].startswith(f"wm{p}")],
        "surveys": [tuple(str(v).replace(p, "") for v in row) for row in surveys],
    }


async def test_a_mixed_page_writes_what_its_messages_write_one_at_a_time_when_every_feature_is_on(
    hf: Harness,
) -> None:
    async with hf.sessions() as session:
        session.add(Member(userid="lisi", name="李四"))
        await session.commit()
    await hf.customer("wmPGUS")
    await hf.customer("wmOGUS")
    await hf.feed(*_mixed_page(hf, "P"))
    for one in _mixed_page(hf, "O"):
        await hf.feed(one)
    paged, alone = await _outcome(hf, "P"), await _outcome(hf, "O")
    assert paged == alone
    assert [w[1:] for w in paged["waits"]] == [
        ("wmDAN", "请问什么时候发货？", "answered", "lisi"),
        ("wmEVE", "请问能退货吗？", "answered", "lisi"),
        ("wmDAN", "请问几天能到？", "answered", "lisi"),
        ("wmFAY", "请问怎么开发票？", "waiting", "None"),
        ("wmGUS", "请问还有货吗？", "waiting", "None"),
    ]
    # Every customer text once, in order (kf chit-chat too: the session's first one gets the greeting menu).
    greeting, group, kf = ["wmGUS"], ["wmDAN", "wmEVE", "wmDAN", "wmDAN"], ["wmFAY", "wmGUS", "wmGUS", "wmFAY"]
    assert [who for who, _ in paged["faq jobs"]] == greeting + group + kf


@contextmanager
def _inserts_into(engine: AsyncEngine, table: str) -> Iterator[list[str]]:
    with _statements(engine, f"INSERT INTO {table} ") as seen:
        yield seen


@contextmanager
def _statements(engine: AsyncEngine, prefix: str) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith(prefix):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_a_page_of_questions_opens_its_waits_and_queues_its_faq_jobs_in_one_statement_each_when_paged(
    hf: Harness, engine: AsyncEngine
) -> None:
    async with hf.sessions() as session:  # known groups: no group read is queued beside the FAQ jobs
        session.add_all(Group(chat_id=f"wrQ{g}", name=f"群{g}", owner_userid="lisi") for g in range(3))
        await session.commit()
    page = [hf.archive_says(f"wmQ{i % 7}", f"请问第{i}单发货了吗？", ChatKind.GROUP, f"wrQ{i % 3}") for i in range(40)]
    with _inserts_into(engine, "chat_waits") as waits, _inserts_into(engine, "inbound_events") as jobs:
        await hf.feed(*page)
    assert (len(waits), len(jobs)) == (1, 1)
    assert len(await _waits(hf)) == 21  # one per customer and group: 7 customers x 3 groups


async def test_reps_chatting_where_nobody_waits_read_no_waits_when_paged(hf: Harness, engine: AsyncEngine) -> None:
    async with hf.sessions() as session:
        session.add(Member(userid="lisi", name="李四"))
        await session.commit()
    chats = [f"wrIDLE{g}" for g in range(3)]
    page: list[Event] = [_member_in_group(hf, "lisi", f"大家好，今天第{i}次上新", chats[i % 3]) for i in range(12)]
    page.append(hf.archive_says("wmHAL", "请问还有货吗？", ChatKind.GROUP, chats[0]))
    page.append(_member_in_group(hf, "lisi", "有的", chats[0]))
    with _statements(engine, "SELECT chat_waits.") as per_message:
        await hf.feed(*page)
    assert len(per_message) == 1  # only the rep's answer where a customer waited reads that chat's waits
    [answered] = await _waits(hf)
    assert (answered.chat_id, answered.status, answered.answered_by) == (chats[0], "answered", "lisi")
