"""One person, one timeline: messages from kf, groups and the OA land on one profile by unionid, or by a merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_dispatcher
from bot.config.settings import Settings
from bot.dispatch import Context, Features
from bot.events import ChatKind, ChatMessage, Event, MessageChannel, MessageRecalled, Person, Speaker
from bot.ingest import intake
from services.clock import ManualClock
from services.customers import identity
from services.customers.profiles import customer_profile, list_customers
from storage.db import make_sessionmaker
from storage.repos import contacts

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class NoDirectory:
    """Conversation handlers must not read the directory; any call is a test failure."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"directory.{name} must not be called while storing messages")


def said(
    channel: MessageChannel, msgid: str, person: Person, text: str, minutes: int, chat_id: str = "wkKF"
) -> ChatMessage:
    kind = {MessageChannel.KF: ChatKind.KF, MessageChannel.OA: ChatKind.OA, MessageChannel.ARCHIVE: ChatKind.GROUP}
    return ChatMessage(
        occurred_at=T0 + timedelta(minutes=minutes),
        source_key=f"{channel.value}:{msgid}",
        channel=channel,
        chat_kind=kind[channel],
        chat_id=chat_id,
        msgid=msgid,
        speaker=Speaker.CUSTOMER,
        speaker_id=person.external_userid or person.openid,
        customer=person,
        member_userid=None,
        msgtype="text",
        text=text,
        body={"content": text},
    )


async def feed(engine: AsyncEngine, events: list[Event]) -> int:
    async with make_sessionmaker(engine)() as session:
        features = Features.of(Settings(), faq=None, metrics=None)  # the FAQ off: these tests are about identity
        clock = ManualClock(T0 + timedelta(hours=1))
        ctx = Context(session=session, clock=clock, directory=NoDirectory(), features=features)  # type: ignore[arg-type]
        handled = await intake.take(build_dispatcher(), events, ctx)
        await session.commit()
        return handled


async def profile_of_external(engine: AsyncEngine, external_userid: str) -> Any:
    async with make_sessionmaker(engine)() as session:
        stored = await contacts.customer_by_external_id(session, external_userid)
        assert stored is not None
        return await customer_profile(session, stored.id)


async def test_a_shared_unionid_makes_one_profile_across_kf_groups_and_the_oa(engine: AsyncEngine) -> None:
    await feed(
        engine, [said(MessageChannel.OA, "o1", Person(openid="oFAN", unionid="U1"), "公众号里问一下", 0, "oa:oFAN")]
    )
    kf = Person(external_userid="wmKF", unionid="U1", name="晴天")
    await feed(engine, [said(MessageChannel.KF, "k1", kf, "客服里问一下", 5)])
    group = Person(external_userid="wmKF")
    await feed(engine, [said(MessageChannel.ARCHIVE, "g1", group, "群里也问一下", 10, "wrGROUP")])

    profile = await profile_of_external(engine, "wmKF")
    messages = [t for t in profile.timeline if t.kind == "message"]
    assert [(m.channel, m.text) for m in messages] == [
        ("oa", "公众号里问一下"),
        ("kf", "客服里问一下"),
        ("archive", "群里也问一下"),
    ]
    assert profile.oa_openid == "oFAN"
    async with make_sessionmaker(engine)() as session:
        assert len(await list_customers(session)) == 1  # the merged profile is not listed on its own


async def test_without_unionid_profiles_stay_apart_until_a_manager_merges_them(engine: AsyncEngine) -> None:
    await feed(engine, [said(MessageChannel.KF, "k1", Person(external_userid="wmA", name="老周"), "在吗", 0)])
    await feed(engine, [said(MessageChannel.OA, "o1", Person(openid="oB"), "你好", 1, "oa:oB")])
    async with make_sessionmaker(engine)() as session:
        a = await contacts.customer_by_external_id(session, "wmA")
        listed = await list_customers(session)
    assert a is not None and len(listed) == 2
    b_id = next(c.id for c in listed if c.id != a.id)

    async with make_sessionmaker(engine)() as session:
        await identity.merge(session, a.id, b_id, "cli:manager", T0 + timedelta(hours=2))
        await session.commit()
    merged = await profile_of_external(engine, "wmA")
    assert [t.text for t in merged.timeline if t.kind == "message"] == ["在吗", "你好"]
    assert [m["id"] for m in merged.merged] == [b_id]
    assert any(t.kind == "merged" and "手动合并" in t.text for t in merged.timeline)
    async with make_sessionmaker(engine)() as session:
        asked = await customer_profile(session, b_id)
    assert asked is not None and asked.id == a.id and asked.requested_id == b_id

    async with make_sessionmaker(engine)() as session:
        await identity.unmerge(session, b_id, "cli:manager", T0 + timedelta(hours=3))
        await session.commit()
    apart = await profile_of_external(engine, "wmA")
    assert [t.text for t in apart.timeline if t.kind == "message"] == ["在吗"]
    assert any(t.kind == "unmerged" for t in apart.timeline)
    async with make_sessionmaker(engine)() as session:
        b = await customer_profile(session, b_id)
        assert b is not None and b.id == b_id and [t.text for t in b.timeline if t.kind == "message"] == ["你好"]
        try:
            await identity.merge(session, a.id, a.id, "cli:manager", T0)
        except identity.MergeError as exc:
            assert "同一个客户" in str(exc)
        else:
            raise AssertionError("merging a profile into itself must be refused")


async def test_a_replayed_page_stores_nothing_twice_and_recalls_mark_the_original(engine: AsyncEngine) -> None:
    person = Person(external_userid="wmR")
    page: list[Event] = [said(MessageChannel.KF, f"m{i}", person, f"第{i}条", i) for i in range(5)]
    assert await feed(engine, page) == 5
    assert await feed(engine, page) == 0
    await feed(engine, [MessageRecalled(T0 + timedelta(minutes=9), "kf:r1", MessageChannel.KF, "m2", "customer")])
    profile = await profile_of_external(engine, "wmR")
    messages = [t for t in profile.timeline if t.kind == "message"]
    assert len(messages) == 5
    assert [m.recalled for m in messages] == [False, False, True, False, False]
    assert messages[2].text == "第2条（已撤回）"


async def test_profiles_that_exist_apart_merge_automatically_once_their_unionid_is_known(engine: AsyncEngine) -> None:
    await feed(engine, [said(MessageChannel.OA, "o1", Person(openid="oLATE"), "先在公众号说话", 0, "oa:oLATE")])
    await feed(
        engine, [said(MessageChannel.KF, "k1", Person(external_userid="wmLATE", unionid="U9"), "后在客服说话", 1)]
    )
    # The OA tells us the follower's unionid later (e.g. on the next message): the two profiles become one.
    await feed(engine, [said(MessageChannel.OA, "o2", Person(openid="oLATE", unionid="U9"), "又来了", 2, "oa:oLATE")])
    profile = await profile_of_external(engine, "wmLATE")
    assert profile.external_userid == "wmLATE"  # the WeCom contact's profile survives
    assert [t.text for t in profile.timeline if t.kind == "message"] == ["先在公众号说话", "后在客服说话", "又来了"]
    assert any(t.kind == "merged" and "unionid" in t.text for t in profile.timeline)


async def test_unmerged_profiles_stay_apart_when_a_shared_unionid_turns_up_later(engine: AsyncEngine) -> None:
    await feed(engine, [said(MessageChannel.KF, "k1", Person(external_userid="wmA", name="老周"), "在吗", 0)])
    await feed(engine, [said(MessageChannel.OA, "o1", Person(openid="oB"), "你好", 1, "oa:oB")])
    async with make_sessionmaker(engine)() as session:
        a = await contacts.customer_by_external_id(session, "wmA")
        assert a is not None
        b_id = next(c.id for c in await list_customers(session) if c.id != a.id)
        await identity.merge(session, a.id, b_id, "cli:manager", T0 + timedelta(hours=2))
        await identity.unmerge(session, b_id, "cli:manager", T0 + timedelta(hours=3))
        await session.commit()
    # Both sides learn the same unionid afterwards (the contact's re-read, the OA's user/info).
    await feed(engine, [said(MessageChannel.KF, "k2", Person(external_userid="wmA", unionid="U9"), "还在吗", 4)])
    await feed(engine, [said(MessageChannel.OA, "o2", Person(openid="oB", unionid="U9"), "再问", 5, "oa:oB")])
    async with make_sessionmaker(engine)() as session:
        b = await customer_profile(session, b_id)
    assert b is not None and b.id == b_id  # still its own profile: the manager's unmerge stands
    assert [t.text for t in b.timeline if t.kind == "message"] == ["你好", "再问"]
