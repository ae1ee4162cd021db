"""Tickets and surveys over real HTTP: a kf session ends → the star menu goes out on its end code; a 1-star click →
alerts to the owner rep and the manager and a ticket; the rep solves it from the app → the customer is asked again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.app import create_app
from bot.channels.wecom.client import WeComClient
from bot.config.service import ServiceSettings
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxConfig
from services.clock import SystemClock
from storage.db import create_db_engine, make_sessionmaker
from storage.models.messages import KfSession
from storage.models.surveys import Survey
from storage.models.tickets import Ticket
from tests.support.postgres import free_port
from tests.support.sender_stack import SANDBOX_DEFAULTS, SenderStack, sender_settings
from tests.support.stack import DEMO, calling_back, start_site

MANAGER = "zhaoliu"
OWNER = "lisi"
SERVICER = "wangwu"


@asynccontextmanager
async def service_stack(database_url: str) -> AsyncIterator[SenderStack]:
    """The sender stack with a manager and an on-duty rep configured (service.managers / service.on_duty)."""
    bot_port, sandbox_port = free_port(), free_port()
    bot_url, sandbox_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{sandbox_port}"
    config = calling_back(SandboxConfig(**SANDBOX_DEFAULTS), bot_url)
    sandbox_runner = await start_site(create_sandbox(config), sandbox_port)
    settings = sender_settings(database_url, sandbox_url).model_copy(
        update={"service": ServiceSettings(managers=(MANAGER,), on_duty=(SERVICER,))}
    )
    bot_runner = await start_site(create_app(settings, SystemClock()), bot_port)
    engine = create_db_engine(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            yield SenderStack(sandbox_url, bot_url, database_url, engine, make_sessionmaker(engine), http)
    finally:
        await bot_runner.cleanup()
        await sandbox_runner.cleanup()
        await engine.dispose()


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s")


async def _rows(stack: SenderStack, model: type[Any]) -> list[Any]:
    async with stack.sessions() as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


async def _to_servicer(stack: SenderStack, open_kfid: str, customer: str) -> None:
    """The kf session goes to the pool (service_state/trans, as the bot's API client would) and SERVICER takes it."""
    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5)
        await client.post(
            "/cgi-bin/kf/service_state/trans",
            {"open_kfid": open_kfid, "external_userid": customer, "service_state": 2},
        )
    await stack.act("kf-take", customer=customer, member=SERVICER)


async def _menus_on_end_codes(stack: SenderStack) -> list[dict[str, Any]]:
    return [e for e in await stack.log("kf_send") if e["via"] == "send_msg_on_event"]


async def _low_alerts(stack: SenderStack) -> list[dict[str, Any]]:
    """The "客户低分：CSAT 1/5" alerts, once both are sent (the owner's and the manager's)."""
    found = [e for e in await stack.log("app_message") if "客户低分：CSAT 1/5" in e["content"]]
    return found if len(found) == 2 else []


async def test_kf_end_survey_low_score_escalation_and_solving_from_the_app(database_url: str) -> None:
    async with service_stack(database_url) as stack:
        state = await stack.state()
        customer = next(c["external_userid"] for c in state["customers"] if c["name"] == "糖糖🍬")
        await stack.act("add-contact", customer=customer, member=OWNER)  # the customer becomes lisi's

        # A kf conversation that a human servicer takes and then ends: the end event carries a msg_code.
        said = await stack.act("kf-say", customer=customer, text="你好，订单还没发货")
        await _to_servicer(stack, said["open_kfid"], customer)
        await stack.act("kf-end", customer=customer, member=SERVICER)

        [menu] = await eventually(lambda: _menus_on_end_codes(stack))
        assert menu["msgtype"] == "msgmenu" and menu["touser"] == customer and menu["code"]
        assert [i["click"]["id"] for i in menu["menu"]["list"]] == ["csat_5", "csat_4", "csat_3", "csat_2", "csat_1"]

        # The customer taps one star.
        await stack.act("kf-click", customer=customer, menu_id="csat_1")

        alerts = await eventually(lambda: _low_alerts(stack))
        assert sorted(a["userid"] for a in alerts) == [OWNER, MANAGER]
        [ticket] = await eventually(lambda: _rows(stack, Ticket))
        assert (ticket.source, ticket.status, ticket.assignee_userid) == ("low_score", "open", OWNER)
        [survey] = await _rows(stack, Survey)
        assert (survey.status, survey.score, survey.trigger) == ("answered", 1, "kf_session_end")

        # lisi solves it from the app; the customer gets the satisfaction question again, now in the kf window.
        await stack.act("member-app-say", member=OWNER, text=f"解决 T{ticket.id}")

        async def solved_answer() -> list[dict[str, Any]]:
            return [
                e
                for e in await stack.log("app_message")
                if e["userid"] == OWNER and e["content"].startswith(f"工单 T{ticket.id} 已标记为已解决")
            ]

        [answer] = await eventually(solved_answer)
        assert "机器人已在微信客服会话中向客户发送满意度评价" in answer["content"]

        async def asked_again() -> list[dict[str, Any]]:
            return [e for e in await stack.log("kf_send") if e["via"] == "send_msg" and e["msgtype"] == "msgmenu"]

        [again] = await eventually(asked_again)
        assert again["touser"] == customer
        [solved] = await _rows(stack, Ticket)
        assert solved.status == "solved"
        surveys = await _rows(stack, Survey)
        assert [(s.trigger, s.status, s.ticket_id) for s in surveys] == [
            ("kf_session_end", "answered", None),
            ("ticket_solved", "pending", ticket.id),
        ]


async def test_a_kf_ticket_solved_while_a_person_has_the_session_is_what_the_end_survey_asks_about(
    database_url: str,
) -> None:
    async with service_stack(database_url) as stack:
        state = await stack.state()
        customer = next(c["external_userid"] for c in state["customers"] if c["name"] == "糖糖🍬")
        await stack.act("add-contact", customer=customer, member=OWNER)
        said = await stack.act("kf-say", customer=customer, text="我要投诉，快递三天没动了")
        [complaint] = await eventually(lambda: _rows(stack, Ticket))
        assert (complaint.source, complaint.channel, complaint.chat_id) == ("complaint", "kf", said["open_kfid"])
        await _to_servicer(stack, said["open_kfid"], customer)

        async def with_servicer() -> bool:  # the bot has read the take from kf's event stream
            async with stack.sessions() as session:
                found = await session.scalar(select(KfSession).where(KfSession.external_userid == customer))
            return found is not None and found.servicer_userid == SERVICER

        await eventually(with_servicer)

        # The owner solves it while wangwu still has the session: the bot cannot post, so it asks at the end.
        await stack.act("member-app-say", member=OWNER, text=f"解决 T{complaint.id}")

        async def told_to_wait() -> list[dict[str, Any]]:
            return [e for e in await stack.log("app_message") if "微信客服会话结束时" in e["content"]]

        await eventually(told_to_wait)
        await stack.act("kf-end", customer=customer, member=SERVICER)

        await eventually(lambda: _menus_on_end_codes(stack))
        [survey] = await _rows(stack, Survey)
        assert (survey.trigger, survey.ticket_id) == ("kf_session_end", complaint.id)

        # One star reopens the ticket it was about; no second ticket.
        await stack.act("kf-click", customer=customer, menu_id="csat_1")

        async def reopened() -> list[Ticket]:
            found = await _rows(stack, Ticket)
            return found if found and found[0].status == "open" else []

        [ticket] = await eventually(reopened)
        assert (ticket.id, ticket.reopened) == (complaint.id, 1)

        alerts = await eventually(lambda: _low_alerts(stack))
        assert sorted(a["userid"] for a in alerts) == [OWNER, MANAGER]
        assert all(f"已重新打开工单 T{complaint.id}" in a["content"] for a in alerts)
