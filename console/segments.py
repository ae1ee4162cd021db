"""人群 (managers and admins): saved segments with live counts, create from a filter document, preview, delete."""

from __future__ import annotations

import json
from typing import Any, Final

from aiohttp import web

from campaigns.segment_sql import Moment
from campaigns.segments import SegmentError, filter_of, find_segment, list_segments, preview
from campaigns.segments import create_segment as create_saved
from campaigns.segments import delete_segment as delete_saved
from console.deps import db, deps, now, origin
from console.documents import DocumentTextError, parse_text
from console.render import page, path_id
from services.access import audit

EXAMPLE: Final = """name: 高价值沉默客户
all:
  - tags: {any: [VIP]}
  - last_message: {older_than_days: 30}
  - not: {opted_out: true}
"""


def _moment(request: web.Request) -> Moment:
    return Moment(now(request), deps(request).config.timezone)


async def segments_page(request: web.Request) -> web.StreamResponse:
    return await _list(request, "", EXAMPLE, None)


async def _list(
    request: web.Request, error: str, text: str, tried: dict[str, Any] | None, status: int = 200
) -> web.Response:
    async with db(request) as session:
        saved = await list_segments(session)
        rows = []
        for segment in saved:
            # Live counts: every saved filter evaluated now (segments are few; each count is one indexed query).
            found = await preview(session, filter_of(segment.filter), _moment(request), sample_size=0)
            rows.append({"segment": segment, "count": found.count})
    context = {"rows": rows, "error": error, "text": text, "preview": tried, "message": request.query.get("msg", "")}
    return page(request, "segments.html", context, status=status)


async def create_segment(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    text = str(form.get("document", ""))
    at = now(request)
    try:
        document = parse_text(text)
        if form.get("action") == "preview":
            async with db(request) as session:
                found = await preview(session, filter_of(document), _moment(request))
            return await _list(request, "", text, found.to_dict())
        async with db(request) as session:
            view = await create_saved(session, document, at, origin(request).actor)
            await audit.record(session, at, origin(request), "segment_create", view.name, {"filter": view.filter})
            await session.commit()
    except (DocumentTextError, SegmentError) as exc:
        return await _list(request, str(exc), text, None, status=400)
    raise web.HTTPFound(f"/console/segments/{view.id}")


async def segment_page(request: web.Request) -> web.StreamResponse:
    segment_id = path_id(request)
    async with db(request) as session:
        try:
            segment = await find_segment(session, str(segment_id))
        except SegmentError:
            raise web.HTTPNotFound(text="未找到该人群") from None
        found = await preview(session, filter_of(segment.filter), _moment(request))
    shown = json.dumps(segment.filter, ensure_ascii=False, indent=2)
    return page(request, "segment.html", {"segment": segment, "preview": found.to_dict(), "filter_text": shown})


async def delete_segment(request: web.Request) -> web.StreamResponse:
    segment_id, at = path_id(request), now(request)
    async with db(request) as session:
        try:
            view = await delete_saved(session, str(segment_id))
        except SegmentError:
            raise web.HTTPNotFound(text="未找到该人群") from None
        await audit.record(session, at, origin(request), "segment_delete", view.name)
        await session.commit()
    raise web.HTTPFound("/console/segments")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/segments", segments_page)
    app.router.add_post("/segments", create_segment)
    app.router.add_get("/segments/{id}", segment_page)
    app.router.add_post("/segments/{id}/delete", delete_segment)
