"""A real database, the real dispatcher and a manual clock, for the ticket and survey handlers and services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import build_dispatcher
from bot.config.service import ServiceSettings
from bot.config.settings import Settings
from bot.dispatch import Context, Features
from bot.events import ChatKind, ChatMessage, Event, KfSessionChanged, MemberText, MessageChannel, Person, Speaker
from bot.ingest import intake
from services.clock import ManualClock
from services.faq.engine import FaqEngine
from storage.db import make_sessionmaker
from storage.models.customers import Customer
from storage.models.outbox import Outbox
from storage.repos import contacts

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
KF = "wkSERVICE0001"
MANAGER = "zhaoliu"
OWNER = "lisi"
ON_DUTY = ("wangwu", "qianqi")


class NoDirectory:
    """Ticket and survey handlers must not read the directory; any call is a test failure."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"directory.{name} must not be called")


@dataclass
class Harness:
    engine: AsyncEngine
    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    settings: Settings = field(
        default_factory=lambda: Settings(service=ServiceSettings(managers=(MANAGER,), on_duty=ON_DUTY))
    )
    faq: FaqEngine | None = None  # None: FAQ answering off (no questions are queued)
    _ids: count[int] = field(default_factory=lambda: count(1))

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return make_sessionmaker(self.engine)

    def now(self) -> datetime:
        return self.clock.now()

    async def feed(self, *events: Event) -> None:
        async with self.sessions() as session:
            ctx = Context(session, self.clock, NoDirectory(), Features.of(self.settings, faq=self.faq, metrics=None))  # type: ignore[arg-type]
            await intake.take(build_dispatcher(), list(events), ctx)
            await session.commit()

    def kf_says(
        self, external_userid: str, text: str, menu_id: str = "", name: str = "", chat_id: str = KF
    ) -> ChatMessage:
        n = next(self._ids)
        return ChatMessage(
            occurred_at=self.now(),
            source_key=f"kf:m{n}",
            channel=MessageChannel.KF,
            chat_kind=ChatKind.KF,
            chat_id=chat_id,
            msgid=f"m{n}",
            speaker=Speaker.CUSTOMER,
            speaker_id=external_userid,
            customer=Person(external_userid=external_userid, name=name),
            member_userid=None,
            msgtype="text",
            text=text,
            body={"content": text, **({"menu_id": menu_id} if menu_id else {})},
            menu_id=menu_id,
        )

    def archive_says(self, external_userid: str, text: str, chat_kind: ChatKind, chat_id: str) -> ChatMessage:
        n = next(self._ids)
        return ChatMessage(
            occurred_at=self.now(),
            source_key=f"archive:a{n}",
            channel=MessageChannel.ARCHIVE,
            chat_kind=chat_kind,
            chat_id=chat_id,
            msgid=f"a{n}",
            speaker=Speaker.CUSTOMER,
            speaker_id=external_userid,
            customer=Person(external_userid=external_userid),
            member_userid=None,
            msgtype="text",
            text=text,
            body={"content": text},
        )

    def member_says(self, userid: str, text: str) -> MemberText:
        n = next(self._ids)
        return MemberText(self.now(), f"app:{n}", userid, text)

    def kf_ended(self, external_userid: str, code: str = "MSGCODE-END") -> KfSessionChanged:
        n = next(self._ids)
        return KfSessionChanged(
            occurred_at=self.now(),
            source_key=f"kfevent:e{n}",
            open_kfid=KF,
            customer=Person(external_userid=external_userid),
            change="ended",
            state=4,
            servicer_userid="",
            code=code,
            code_kind="session_end",
            detail={},
        )

    async def customer(self, external_userid: str, owner: str | None = OWNER, name: str = "") -> Customer:
        """A customer who has written in kf once (so their 48 h window is open), owned by `owner`."""
        await self.feed(self.kf_says(external_userid, "你好", name=name))
        async with self.sessions() as session:
            found = await contacts.customer_by_external_id(session, external_userid)
            assert found is not None
            await session.execute(update(Customer).where(Customer.id == found.id).values(owner_userid=owner))
            await session.commit()
            found.owner_userid = owner
            return found

    async def outbox(self, kind: str | None = None) -> list[Outbox]:
        async with self.sessions() as session:
            stmt = select(Outbox).order_by(Outbox.id)
            if kind is not None:
                stmt = stmt.where(Outbox.kind == kind)
            return list((await session.execute(stmt)).scalars())

    async def app_texts(self, userid: str) -> list[str]:
        return [str(r.payload.get("content", "")) for r in await self.outbox("app_message") if r.recipient == userid]

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))
