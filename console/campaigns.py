"""营销 (managers, admins): campaigns with funnel and runs; create after a dry-run preview; pause, resume, cancel."""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import quote

from aiohttp import web

from campaigns.manage import CampaignError, change_status, create_campaign, list_campaigns, show_campaign
from console.campaign_text import ACTIONS, KINDS, PATHS, RUN_STATUSES, SKIP_REASONS, STATUSES, funnel_steps
from console.deps import db, now, origin
from console.documents import DocumentTextError, campaign_policy, parse_text
from console.render import page, path_id
from services.access import audit

EXAMPLE: Final = """name: 双十二预热
kind: broadcast
segment: 高价值沉默客户
path: mass_single
message: "{{ name }}，双十二会员专享价已开启，回复「退订」不再接收。"
at: now
holdout: 0.1
"""
WORDS: Final = {
    "kinds": KINDS,
    "statuses": STATUSES,
    "paths": PATHS,
    "reasons": SKIP_REASONS,
    "actions": ACTIONS,
    "run_statuses": RUN_STATUSES,
}


async def campaigns_page(request: web.Request) -> web.StreamResponse:
    return await _list(request, "", EXAMPLE, None)


async def _list(request: web.Request, error: str, text: str, dry: object, status: int = 200) -> web.Response:
    async with db(request) as session:
        found = await list_campaigns(session, campaign_policy(request), now(request))
    context = {"campaigns": found, "error": error, "text": text, "dry": dry, "message": request.query.get("msg", "")}
    return page(request, "campaigns.html", {**context, **WORDS}, status=status)


async def create(request: web.Request) -> web.StreamResponse:
    """`action=preview` validates and shows three customers' personal texts; `action=save` creates it."""
    form = await request.post()
    text, at = str(form.get("document", "")), now(request)
    dry_run = form.get("action") != "save"
    try:
        document = parse_text(text)
        async with db(request) as session:
            view = await create_campaign(
                session, document, at, campaign_policy(request), dry_run=dry_run, created_by=origin(request).actor
            )
            if dry_run:
                await session.rollback()
                return await _list(request, "", text, view)
            await audit.record(session, at, origin(request), "campaign_create", view.name, {"definition": document})
            await session.commit()
    except DocumentTextError as exc:
        return await _list(request, str(exc), text, None, status=400)
    except CampaignError as exc:
        return await _list(request, f"活动文档有误（字段: 说明）：\n{exc}", text, None, status=400)
    raise web.HTTPFound(f"/console/campaigns/{view.id}")


async def campaign_page(request: web.Request) -> web.StreamResponse:
    campaign_id = path_id(request)
    async with db(request) as session:
        try:
            view = await show_campaign(session, str(campaign_id), campaign_policy(request), now(request))
        except CampaignError:
            raise web.HTTPNotFound(text="未找到该活动") from None
    assert view.funnel is not None
    steps = funnel_steps(view.funnel)
    chart = {"labels": [s[0] for s in steps], "values": [s[1] for s in steps], "lift": view.funnel["lift"]}
    context = {
        "c": view,
        "steps": steps,
        "chart": chart,
        "definition": json.dumps(view.definition, ensure_ascii=False, indent=2),
        "message": request.query.get("msg", ""),
    }
    return page(request, "campaign.html", {**context, **WORDS})


async def pause(request: web.Request) -> web.StreamResponse:
    return await _change(request, "pause")


async def resume(request: web.Request) -> web.StreamResponse:
    return await _change(request, "resume")


async def cancel(request: web.Request) -> web.StreamResponse:
    return await _change(request, "cancel")


async def _change(request: web.Request, action: str) -> web.StreamResponse:
    campaign_id, at = path_id(request), now(request)
    async with db(request) as session:
        try:
            campaign = await change_status(session, str(campaign_id), action, at)
        except CampaignError as exc:
            if "没有名为" in str(exc):
                raise web.HTTPNotFound(text="未找到该活动") from None
            raise web.HTTPFound(f"/console/campaigns/{campaign_id}?msg={quote(str(exc))}") from None
        await audit.record(session, at, origin(request), f"campaign_{action}", campaign.name)
        await session.commit()
    done = f"活动「{campaign.name}」已{ACTIONS[action]}"
    raise web.HTTPFound(f"/console/campaigns/{campaign_id}?msg={quote(done)}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/campaigns", campaigns_page)
    app.router.add_post("/campaigns", create)
    app.router.add_get("/campaigns/{id}", campaign_page)
    app.router.add_post("/campaigns/{id}/pause", pause)
    app.router.add_post("/campaigns/{id}/resume", resume)
    app.router.add_post("/campaigns/{id}/cancel", cancel)
