"""隐私 (managers and admins): export one person's data as JSON, or erase it for good; both audited."""

from __future__ import annotations

import json

from aiohttp import web

from console.deps import db, now, origin, viewer
from console.render import page, path_id
from services.access import audit
from services.privacy import pipl as privacy


async def privacy_page(request: web.Request) -> web.StreamResponse:
    return page(request, "privacy.html", {"message": request.query.get("msg", "")[:200], "error": ""})


async def export(request: web.Request) -> web.StreamResponse:
    customer_id, at = path_id(request), now(request)
    async with db(request) as session:
        try:
            document = await privacy.export_person(session, customer_id)
        except privacy.PrivacyError:
            raise web.HTTPNotFound(text="未找到该客户") from None
        await audit.record(session, at, origin(request), "customer_export", f"customer:{customer_id}")
        await session.commit()
    body = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    disposition = f'attachment; filename="customer-{customer_id}.json"'
    return web.Response(text=body, content_type="application/json", headers={"Content-Disposition": disposition})


async def erase(request: web.Request) -> web.StreamResponse:
    customer_id, at = path_id(request), now(request)
    form = await request.post()
    if str(form.get("confirm", "")).strip() != str(customer_id):
        context = {"message": "", "error": f"请在确认框中输入客户 ID {customer_id} 以确认删除"}
        return page(request, "privacy.html", context, status=400)
    async with db(request) as session:
        try:
            counts = await privacy.erase_person(session, at, customer_id, viewer(request).actor)
        except privacy.PrivacyError:
            raise web.HTTPNotFound(text="未找到该客户") from None
        await audit.record(session, at, origin(request), "customer_erase", f"customer:{customer_id}", counts)
        await session.commit()
        await privacy.scrub_file(session)
        await session.commit()
    raise web.HTTPFound(f"/console/privacy?msg=已删除客户 {customer_id} 的全部个人数据")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/privacy", privacy_page)
    app.router.add_post("/privacy/{id}/export", export)
    app.router.add_post("/privacy/{id}/erase", erase)
