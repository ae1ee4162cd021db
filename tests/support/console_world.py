"""A console on a loopback port over a seeded database: three roles, two reps' customers, messages, tickets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from console import ConsoleConfig, setup_console
from services.access import accounts
from services.clock import ManualClock
from storage.db import create_db_engine, make_sessionmaker
from storage.models.console import User
from storage.models.customers import Customer, CustomerFollow, Member
from storage.models.groups import Group, GroupMember
from storage.models.messages import Message
from storage.models.surveys import CustomerScore, Survey
from storage.models.tickets import Ticket
from tests.support.postgres import free_port
from tests.support.stack import start_site

PASSWORD = "correct-horse-1"
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
XSS = "<script>alert(1)</script>"


@dataclass(frozen=True, slots=True)
class World:
    base: str
    clock: ManualClock
    sessions: async_sessionmaker[AsyncSession]
    zhang_customer: int  # owned by rep zhang
    li_customer: int  # owned by rep li
    shared_customer: int  # owned by li, followed by zhang
    zhang_ticket: int
    li_ticket: int


async def seed(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, int]:
    async with sessions() as session:
        for login, role, userid in (
            ("admin", "admin", None),
            ("boss", "manager", None),
            ("zhang", "rep", "zhangsan"),
            ("li", "rep", "lisi"),
        ):
            session.add(
                User(
                    login=login,
                    name=login,
                    role=role,
                    wecom_userid=userid,
                    password_hash=await _password_hash(),
                    created_at=now,
                    updated_at=now,
                )
            )
        session.add_all([Member(userid="zhangsan", name="张三"), Member(userid="lisi", name="李四")])
        mine = Customer(external_userid="wm_zhang_1", name="王小明", owner_userid="zhangsan", first_seen_at=now)
        theirs = Customer(external_userid="wm_li_1", name="赵小红", owner_userid="lisi", first_seen_at=now)
        shared = Customer(external_userid="wm_li_2", name="钱多多", owner_userid="lisi", first_seen_at=now)
        session.add_all([mine, theirs, shared])
        await session.flush()
        session.add(CustomerFollow(customer_id=shared.id, userid="zhangsan"))
        session.add_all(
            [
                Group(chat_id="wr_zhang", name="张三的福利群", owner_userid="zhangsan"),
                Group(chat_id="wr_li", name="李四的VIP群", owner_userid="lisi"),
            ]
        )
        await session.flush()
        session.add(GroupMember(chat_id="wr_zhang", member_id="wm_zhang_1", member_type=2, customer_id=mine.id))
        group_line = _message("archive:g1", mine.id, "群里问一下发货时间", now - timedelta(hours=5))
        group_line.chat_type, group_line.chat_id, group_line.channel = "group", "wr_zhang", "archive"
        session.add(group_line)
        for i, (who, text) in enumerate(
            [(mine, f"我的订单呢 {XSS}"), (theirs, "李四的客户的秘密消息"), (shared, "共享客户的消息")]
        ):
            session.add(_message(f"kf:seed{i}", who.id, text, now - timedelta(hours=i + 1)))
        tickets = [_ticket(mine.id, "zhangsan", "物流太慢", now), _ticket(theirs.id, "lisi", "退款问题", now)]
        session.add_all(tickets)
        await session.flush()
        session.add(CustomerScore(customer_id=mine.id, csat=4, csat_at=now - timedelta(hours=20)))
        session.add(
            Survey(
                customer_id=mine.id,
                kind="csat",
                trigger="manual",
                channel="kf",
                chat_id="kf1",
                status="answered",
                asked_at=now - timedelta(days=1),
                expires_at=now,
                score=4,
                answered_at=now - timedelta(hours=20),
            )
        )
        await session.commit()
        return {"mine": mine.id, "theirs": theirs.id, "shared": shared.id, "t1": tickets[0].id, "t2": tickets[1].id}


async def _password_hash() -> str:
    """One argon2 hash for every seeded user: hashing is deliberately slow and the tests make many worlds."""
    if not _HASH:
        _HASH.append(await accounts.hash_password(PASSWORD))
    return _HASH[0]


_HASH: list[str] = []


def _message(key: str, customer_id: int, text: str, at: datetime) -> Message:
    return Message(
        source_key=key,
        channel="kf",
        chat_type="kf",
        chat_id=f"kf:{customer_id}",
        sender_kind="customer",
        sender_id=f"wm{customer_id}",
        customer_id=customer_id,
        msgtype="text",
        text=text,
        body={},
        sent_at=at,
    )


def _ticket(customer_id: int, assignee: str, subject: str, now: datetime) -> Ticket:
    return Ticket(
        customer_id=customer_id,
        subject=subject,
        status="open",
        assignee_userid=assignee,
        opened_at=now,
        updated_at=now,
    )


@asynccontextmanager
async def running_console(database_url: str, config: ConsoleConfig | None = None) -> AsyncIterator[World]:
    engine = create_db_engine(database_url)
    sessions = make_sessionmaker(engine)
    clock = ManualClock(START)
    ids = await seed(sessions, clock.now())
    app = web.Application()
    setup_console(app, config or ConsoleConfig(), lambda: sessions, clock)
    port = free_port()
    runner = await start_site(app, port)
    try:
        yield World(
            f"http://127.0.0.1:{port}",
            clock,
            sessions,
            ids["mine"],
            ids["theirs"],
            ids["shared"],
            ids["t1"],
            ids["t2"],
        )
    finally:
        await runner.cleanup()
        await engine.dispose()


def client() -> aiohttp.ClientSession:
    # unsafe: the cookie jar must accept cookies from an IP address (the loopback site).
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


async def login(
    http: aiohttp.ClientSession, base: str, username: str, password: str = PASSWORD
) -> aiohttp.ClientResponse:
    async with http.get(f"{base}/console/login") as page:
        token = csrf_of(await page.text())
    form = {"username": username, "password": password, "csrf_token": token}
    async with http.post(f"{base}/console/login", data=form, allow_redirects=False) as answer:
        await answer.read()
        return answer
