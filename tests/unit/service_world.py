"""A small corp in the database for service-loop tests: members, customers with tags, a group, and message feeding."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import build_dispatcher
from bot.config.service import ServiceSettings
from bot.config.settings import Settings
from bot.dispatch import Context, Features
from bot.events import ChatKind, ChatMessage, MessageChannel, Person, Speaker
from bot.ingest import intake
from bot.policies import service_rules
from services.clock import ManualClock
from services.service import sla
from services.service.policy import ServiceRules
from services.service.sla import OverdueHook, TickReport
from storage.db import make_sessionmaker
from storage.models.customers import Customer, CustomerTag
from storage.models.groups import Group
from storage.models.outbox import Outbox, OutboxKind
from storage.models.service import ChatWait
from storage.repos import contacts

CN = ZoneInfo("Asia/Shanghai")
GROUP = "wrGROUP1"
KF = "wkKF1"
MEMBERS = {"zhangsan": "张三", "lisi": "李四", "wangwu": "王五", "zhaoliu": "赵六", "boss": "老板"}
SERVICE = ServiceSettings(
    managers=("lisi",), on_duty=("wangwu",), escalation_levels=(("zhaoliu",), ("boss",)), escalate_every_min=30
)


def cn(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CN)  # type: ignore[misc]


class NoDirectory:
    """Members are stored up front, so storing messages never reads the directory."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"directory.{name} must not be called")


@dataclass
class World:
    engine: AsyncEngine
    clock: ManualClock
    settings: Settings

    def __post_init__(self) -> None:
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        self.dispatcher = build_dispatcher()
        self._ids = itertools.count(1)
        self.overdue: list[int] = []

    @property
    def rules(self) -> ServiceRules:
        return service_rules(self.settings)

    async def setup(self) -> None:
        now = self.clock.now()
        async with self.sessions.begin() as session:
            for userid, name in MEMBERS.items():
                await contacts.upsert_member(session, userid, name, "", now)
            session.add(Group(chat_id=GROUP, name="训练营1群", owner_userid="zhangsan"))

    async def customer(
        self, external_userid: str, name: str, *, owner: str | None = None, tags: tuple[str, ...] = ()
    ) -> int:
        async with self.sessions.begin() as session:
            customer = await contacts.add_customer(session, external_userid, name, self.clock.now())
            customer.owner_userid = owner
            await session.flush()
            for number, tag in enumerate(tags):
                session.add(CustomerTag(customer_id=customer.id, userid=owner or "", tag_id=f"t{number}", tag_name=tag))
            return customer.id

    async def say(
        self,
        text: str,
        *,
        chat: str,
        at: datetime,
        customer: str | None = None,
        member: str | None = None,
        kind: ChatKind = ChatKind.GROUP,
    ) -> str:
        """One message stored and dispatched as intake does it; returns its source key. The member speaks when
        `customer` is None, or in kf/1:1 when both are given and `text` starts with "rep:" (the prefix is cut)."""
        msgid = f"m{next(self._ids)}"
        channel = {ChatKind.KF: MessageChannel.KF, ChatKind.OA: MessageChannel.OA}.get(kind, MessageChannel.ARCHIVE)
        by_member = customer is None or text.startswith("rep:")
        text = text.removeprefix("rep:")
        event = ChatMessage(
            occurred_at=at,
            source_key=f"{channel.value}:{msgid}",
            channel=channel,
            chat_kind=kind,
            chat_id=chat,
            msgid=msgid,
            speaker=Speaker.MEMBER if by_member else Speaker.CUSTOMER,
            speaker_id=(member or "") if by_member else (customer or ""),
            customer=Person(external_userid=customer) if customer else None,
            member_userid=member,
            msgtype="text",
            text=text,
            body={"content": text},
        )
        async with self.sessions() as session:
            ctx = Context(session, self.clock, NoDirectory(), Features.of(self.settings, faq=None, metrics=None))  # type: ignore[arg-type]
            await intake.take(self.dispatcher, [event], ctx)
            await session.commit()
        return event.source_key

    async def tick(self, at: datetime, on_overdue: OverdueHook | None = None) -> TickReport:
        self.clock.set(at)

        async def record_overdue(session: AsyncSession, wait: ChatWait, now: datetime) -> None:
            self.overdue.append(wait.id)
            if on_overdue is not None:
                await on_overdue(session, wait, now)

        return await sla.tick(self.sessions, self.rules, self.clock.now(), on_overdue=record_overdue)

    async def alerts(self) -> list[tuple[str, str]]:
        """(recipient, text) of every app message queued so far, in order."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(Outbox).where(Outbox.kind == OutboxKind.APP_MESSAGE).order_by(Outbox.id)
            )
            return [(row.recipient, str(row.payload.get("content", ""))) for row in rows.scalars()]

    async def waits(self) -> list[ChatWait]:
        async with self.sessions() as session:
            return list((await session.execute(select(ChatWait).order_by(ChatWait.id))).scalars())

    async def customer_row(self, customer_id: int) -> Customer | None:
        async with self.sessions() as session:
            return await session.get(Customer, customer_id)


async def make_world(engine: AsyncEngine, start: datetime, service: ServiceSettings = SERVICE) -> World:
    world = World(engine, ManualClock(start), Settings(service=service))
    await world.setup()
    return world
