"""跟进: a rep's own open follow-ups (managers see everyone's), soonest first, each can be marked done."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from console.deps import db, now, origin, viewer
from console.render import page, path_id
from services.access import audit
from services.service.followup_scope import complete_visible, visible_followups
from services.service.followups import FollowupError

STATE_TEXT = {"overdue": "已逾期", "due": "今日到期", "later": "未到期"}


async def followups_page(request: web.Request) -> web.StreamResponse:
    everything = request.query.get("when") == "all"
    async with db(request) as session:
        shown = await visible_followups(session, viewer(request), now(request))
    if not everything:  # by default what needs doing now: overdue and due within a day
        shown = [s for s in shown if s.state != "later"]
    context = {
        "shown": shown,
        "states": STATE_TEXT,
        "everything": everything,
        "message": request.query.get("msg", "")[:200],
    }
    return page(request, "followups.html", context)


async def mark_done(request: web.Request) -> web.StreamResponse:
    followup_id, at = path_id(request), now(request)
    async with db(request) as session:
        try:
            done = await complete_visible(session, viewer(request), at, followup_id)
        except FollowupError as exc:
            if "没有找到" in str(exc):
                raise web.HTTPNotFound(text="未找到该跟进") from None
            raise web.HTTPFound(f"/console/followups?msg={quote(str(exc))}") from None
        await audit.record(session, at, origin(request), "followup_done", done.label)
        await session.commit()
    raise web.HTTPFound(f"/console/followups?msg={quote(f'跟进 {done.label} 已完成')}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/followups", followups_page)
    app.router.add_post("/followups/{id}/done", mark_done)
