"""Replying to an OA follower from the console: the rep's words are queued as the OA's customer-service message in
their name, once per form; another rep's ticket is 404, an account with no WeCom member and a shut window are told."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import aiohttp
from sqlalchemy import select

from storage.models.console import AuditEntry
from storage.models.outbox import OaWindow, Outbox, OutboxKind
from storage.models.tickets import Ticket
from tests.support.console_world import World, client, csrf_of, login, running_console

OPENID = "oFollowerOfZhang"


async def oa_ticket(world: World) -> int:
    """An OA hand-off ticket of zhang's customer, whose follower wrote an hour ago (the window is open)."""
    now = world.clock.now()
    async with world.sessions() as session:
        ticket = Ticket(
            customer_id=world.zhang_customer,
            subject="转人工：客户要求人工服务",
            status="open",
            source="handoff",
            assignee_userid="zhangsan",
            channel="oa",
            chat_id=f"oa:{OPENID}",
            opened_at=now,
            updated_at=now,
        )
        session.add(ticket)
        session.add(OaWindow(openid=OPENID, window_kind="message", opened_at=now - timedelta(hours=1), sends=0))
        await session.commit()
        return ticket.id


async def reply_form(http: aiohttp.ClientSession, world: World, path: str) -> dict[str, str]:
    async with http.get(f"{world.base}{path}") as page:
        html = await page.text()
    nonce = re.search(r'name="nonce" value="([^"]+)"', html)
    assert nonce, "no reply form on the page"
    return {"csrf_token": csrf_of(html), "nonce": nonce.group(1)}


async def send(http: aiohttp.ClientSession, world: World, ticket_id: int, form: dict[str, str]) -> tuple[int, str]:
    async with http.post(f"{world.base}/console/tickets/{ticket_id}/reply", data=form, allow_redirects=False) as answer:
        return answer.status, unquote(answer.headers.get("Location", ""))


async def relays(world: World) -> list[Outbox]:
    async with world.sessions() as session:
        stmt = select(Outbox).where(Outbox.kind == OutboxKind.OA_MESSAGE, Outbox.recipient == OPENID)
        return list((await session.execute(stmt)).scalars())


async def test_a_rep_replies_to_their_oa_follower_from_the_customer_page_once(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        ticket_id = await oa_ticket(world)
        await login(http, world.base, "zhang")
        form = await reply_form(http, world, f"/console/customers/{world.zhang_customer}")
        form |= {"text": "王先生您好，您的快递今天会到。", "customer": str(world.zhang_customer)}
        status, location = await send(http, world, ticket_id, form)
        assert status == 302 and location.startswith(f"/console/customers/{world.zhang_customer}?msg="), location
        assert "已通过公众号把你的回复发给「王小明」" in location
        async with http.get(f"{world.base}{location}") as page:
            assert "已通过公众号把你的回复发给" in await page.text()  # the page says what happened

        [row] = await relays(world)
        assert row.payload["content"] == "王先生您好，您的快递今天会到。"
        assert (row.payload["by_member"], row.payload["ticket_id"]) == ("zhangsan", ticket_id)

        # The same form sent again (a double click, a browser resend) queues nothing more.
        status, location = await send(http, world, ticket_id, form)
        assert "没有重复发送" in location and len(await relays(world)) == 1
        async with world.sessions() as session:
            audited = (await session.execute(select(AuditEntry.action, AuditEntry.target))).all()
        assert ("ticket_reply", f"T{ticket_id}") in audited


async def test_the_tickets_page_offers_a_reply_only_on_oa_tickets(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        ticket_id = await oa_ticket(world)
        await login(http, world.base, "zhang")
        async with http.get(f"{world.base}/console/tickets") as page:
            html = await page.text()
        # 回复 opens the customer's page at the ticket's form: the rep reads the conversation before answering.
        assert f'href="/console/customers/{world.zhang_customer}#reply-{ticket_id}"' in html
        assert "<td>张三</td>" in html and "<td>zhangsan</td>" not in html  # the assignee by name
        assert f"#reply-{world.zhang_ticket}" not in html  # a kf or group ticket: answered there
        async with http.get(f"{world.base}/console/customers/{world.zhang_customer}") as page:
            html = await page.text()
        assert f'id="reply-{ticket_id}"' in html and f'action="/console/tickets/{ticket_id}/reply"' in html


async def test_another_rep_gets_404_and_an_unbound_manager_is_told(database_url: str) -> None:
    async with running_console(database_url) as world:
        ticket_id = await oa_ticket(world)
        async with client() as http:
            await login(http, world.base, "li")
            async with http.get(f"{world.base}/console/tickets") as page:
                html = await page.text()
            assert f"/console/tickets/{ticket_id}/" not in html
            form = {"csrf_token": csrf_of(html), "nonce": "n1", "text": "我来回复"}
            status, _ = await send(http, world, ticket_id, form)
            assert status == 404
        async with client() as http:
            await login(http, world.base, "boss")  # a manager sees the ticket, but is no WeCom member
            form = await reply_form(http, world, f"/console/customers/{world.zhang_customer}")
            status, location = await send(http, world, ticket_id, form | {"text": "我来回复"})
            assert status == 302 and "未绑定企业微信成员" in location
        assert await relays(world) == []


async def test_a_shut_window_is_explained_and_nothing_is_queued(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        ticket_id = await oa_ticket(world)
        await login(http, world.base, "zhang")
        form = await reply_form(http, world, f"/console/customers/{world.zhang_customer}")
        async with world.sessions() as session:  # the follower's last message is 49 h old
            window = await session.get(OaWindow, OPENID)
            assert window is not None
            window.opened_at = world.clock.now() - timedelta(hours=49)
            await session.commit()
        status, location = await send(http, world, ticket_id, form | {"text": "抱歉久等了"})
        assert status == 302 and "没有发出" in location and "48 小时" in location
        assert await relays(world) == []
