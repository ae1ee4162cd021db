"""The 概览 dashboard, the customer list and a customer's profile with its paged timeline."""

from __future__ import annotations

import uuid

from aiohttp import web

from console.deps import db, deps, now, viewer
from console.render import int_param, page, path_id
from services.customers import search as customer_search
from services.customers.search import CustomerQuery
from services.reports import dashboard
from services.service.alert_text import member_names
from services.tickets import scope as ticket_scope

TIMELINE_PAGE = 50


async def dashboard_page(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        data = await dashboard.build_dashboard(session, viewer(request), now(request), _zone(request))
    return page(request, "dashboard.html", {"data": data.to_dict()})


async def customers_page(request: web.Request) -> web.StreamResponse:
    query = CustomerQuery(
        q=request.query.get("q", "").strip()[:100],
        tag=request.query.get("tag", "").strip()[:128],
        owner=request.query.get("owner", "").strip()[:64],
        status=request.query.get("status", "") if request.query.get("status") in customer_search.STATUSES else "",
        page=int_param(request, "page"),
    )
    who = viewer(request)
    async with db(request) as session:
        found = await customer_search.search_customers(session, who, query)
        tags = await customer_search.tag_names(session, who)
        owners = await customer_search.owner_ids(session, who)
    return page(request, "customers.html", {"query": query, "found": found, "tags": tags, "owners": owners})


async def customer_page(request: web.Request) -> web.StreamResponse:
    customer_id = path_id(request)
    who = viewer(request)
    async with db(request) as session:
        profile = await customer_search.visible_profile(session, who, customer_id)
        if profile is None:
            raise web.HTTPNotFound(text="未找到该客户")
        tickets = await ticket_scope.tickets_of_customer(session, who, profile.id, now(request))
        scores = await customer_search.scores_of(session, profile.id)
        held_by = (profile.oa_with_person or {}).get("rep")
        names = await member_names(session, [held_by] if held_by else [])
    # Newest first, paged: a long history should not make the page slow to open on a phone.
    timeline = list(reversed(profile.timeline))
    pages = max(1, -(-len(timeline) // TIMELINE_PAGE))
    current = min(int_param(request, "page"), pages)
    shown = timeline[(current - 1) * TIMELINE_PAGE : current * TIMELINE_PAGE]
    context = {
        "p": profile,
        "timeline": shown,
        "page": current,
        "pages": pages,
        "tickets": tickets,
        "scores": scores,
        "message": request.query.get("msg", "")[:300],
        "nonce": uuid.uuid4().hex,  # an OA reply form's: a double submit sends once (console/tickets.py)
        "names": names,
    }
    return page(request, "customer.html", context)


def _zone(request: web.Request) -> str:
    return deps(request).config.timezone


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", dashboard_page)
    app.router.add_get("/customers", customers_page)
    app.router.add_get("/customers/{id}", customer_page)
