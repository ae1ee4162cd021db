"""工单: the viewer's tickets; claim, solve, reopen, and reply to an OA follower, through the rep commands' services."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from aiohttp import web

from console.deps import db, deps, now, origin, viewer
from console.render import int_param, page, path_id
from services.access import audit
from services.access.viewer import can_see_ticket
from services.service.alert_text import member_names
from services.tickets import changes as ticket_changes
from services.tickets import scope as ticket_scope
from services.tickets.opening import TicketError
from services.tickets.relay import RelayRules, relay_reply
from services.tickets.text import STATUS_TEXT, label

STATUS_FILTERS = ("", "all", *STATUS_TEXT)


async def tickets_page(request: web.Request) -> web.StreamResponse:
    status = request.query.get("status", "")
    status = status if status in STATUS_FILTERS else ""
    async with db(request) as session:
        found = await ticket_scope.visible_tickets(
            session, viewer(request), now(request), status, int_param(request, "page")
        )
        # Members by name, as everywhere a person reads them; a member not synced yet keeps the userid.
        names = await member_names(session, sorted({t.assignee for t in found if t.assignee}))
    message = request.query.get("msg", "")[:300]
    context = {"tickets": found, "status": status, "message": message, "names": names}
    return page(request, "tickets.html", context)


async def claim(request: web.Request) -> web.StreamResponse:
    return await _change(request, "claim")


async def solve(request: web.Request) -> web.StreamResponse:
    return await _change(request, "solve")


async def reopen(request: web.Request) -> web.StreamResponse:
    return await _change(request, "reopen")


async def _change(request: web.Request, action: str) -> web.StreamResponse:
    ticket_id, who, at = path_id(request), viewer(request), now(request)
    async with db(request) as session:
        if not await can_see_ticket(session, who, ticket_id):
            raise web.HTTPNotFound(text="未找到该工单")
        by = who.wecom_userid or who.actor
        try:
            if action == "claim":
                if not who.wecom_userid:
                    raise _back("你的账号未绑定企业微信成员，不能认领工单")
                await ticket_changes.claim(session, at, ticket_id, who.wecom_userid)
                message = f"已认领工单 {label(ticket_id)}"
            elif action == "reopen":  # an OA follower handed off with it is held for a person again (oa_rehold)
                await ticket_changes.reopen(session, at, ticket_id, by)
                message = f"工单 {label(ticket_id)} 已重新打开"
            else:
                # Managers may solve a colleague's ticket; a rep only their own (the service checks).
                await ticket_changes.solve(session, at, ticket_id, by, force=who.sees_all)
                message = f"工单 {label(ticket_id)} 已解决"
        except TicketError as exc:
            raise _back(exc.message) from None
        await audit.record(session, at, origin(request), f"ticket_{action}", label(ticket_id))
        await session.commit()
    raise _back(message)


async def reply(request: web.Request) -> web.StreamResponse:
    """A reply to the ticket's OA follower, sent by the bot in the viewer's name, as "回复 T12 …" in the app does."""
    ticket_id, who, at = path_id(request), viewer(request), now(request)
    form = await request.post()
    text, nonce = str(form.get("text", "")).strip(), str(form.get("nonce", ""))
    back = _back_to(form.get("customer"))
    if not text:
        raise back("回复内容不能为空")
    config = deps(request).config
    rules = config.relay or RelayRules.defaults(config.timezone)
    async with db(request) as session:
        if not await can_see_ticket(session, who, ticket_id):
            raise web.HTTPNotFound(text="未找到该工单")
        if not who.wecom_userid:
            raise back("你的账号未绑定企业微信成员，不能以你的名义回复客户")
        # The form's nonce makes a double submit (or a browser resend) queue one message, not two.
        key = f"console:{who.actor}:{ticket_id}:{nonce or at.isoformat()}"
        relayed = await relay_reply(session, at, who.wecom_userid, ticket_id, text, key, rules)
        if relayed.sent:
            await audit.record(session, at, origin(request), "ticket_reply", label(ticket_id))
        await session.commit()
    raise back(relayed.message)


def _back(message: str) -> web.HTTPFound:
    return web.HTTPFound(f"/console/tickets?msg={quote(message)}")


def _back_to(customer: object) -> Callable[[str], web.HTTPFound]:
    """Back to the page the form was on: the customer's when it names one, else the tickets list."""
    customer_id = str(customer or "")
    if not customer_id.isdigit():
        return _back
    return lambda message: web.HTTPFound(f"/console/customers/{customer_id}?msg={quote(message)}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/tickets", tickets_page)
    app.router.add_post("/tickets/{id}/claim", claim)
    app.router.add_post("/tickets/{id}/solve", solve)
    app.router.add_post("/tickets/{id}/reopen", reopen)
    app.router.add_post("/tickets/{id}/reply", reply)
