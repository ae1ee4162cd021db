"""知识库 (managers and admins): entries with their variants, unanswered question groups → promote or add a variant."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from console.deps import db, now, origin
from console.render import page
from services.access import audit
from services.faq import kb, learning, unanswered
from storage.repos import kb as kb_repo


async def kb_page(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        entries = await kb_repo.entries(session)
        variants = await kb_repo.questions_by_entry(session)
        groups = await unanswered.list_groups(session)
        pending = await learning.pending(session)
    context = {
        "pending": pending,
        "entries": entries,
        "variants": variants,
        "groups": groups,
        "message": request.query.get("msg", "")[:200],
        "error": request.query.get("error", "")[:300],
    }
    return page(request, "kb.html", context)


async def promote(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    raw_group, answer = str(form.get("group", "")), str(form.get("answer", "")).strip()
    entry_id = str(form.get("entry_id", "")).strip() or None
    if not raw_group.isdigit() or not answer:
        raise _back(error="请选择问题组并填写答案")
    at = now(request)
    async with db(request) as session:
        try:
            item = await unanswered.promote(session, int(raw_group), answer, at, entry_id=entry_id)
        except kb.KbError as exc:
            raise _back(error=str(exc)) from None
        await audit.record(session, at, origin(request), "kb_promote", f"kb:{item.id}", {"group": int(raw_group)})
        await session.commit()
    raise _back(message=f"已新建条目 {item.id}")


async def add_variant(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    entry_id, question = str(form.get("entry_id", "")).strip(), str(form.get("question", "")).strip()
    at = now(request)
    async with db(request) as session:
        try:
            added = await kb.add_variant(session, entry_id, question, at)
        except kb.KbError as exc:
            raise _back(error=str(exc)) from None
        if added:
            await audit.record(session, at, origin(request), "kb_add_variant", f"kb:{entry_id}", {"question": question})
        await session.commit()
    raise _back(message=f"已为条目 {entry_id} 添加问法" if added else f"条目 {entry_id} 已有这个问法")


def _back(*, message: str = "", error: str = "") -> web.HTTPFound:
    return web.HTTPFound(f"/console/kb?msg={quote(message)}&error={quote(error)}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/kb", kb_page)
    app.router.add_post("/kb/promote", promote)
    app.router.add_post("/kb/variant", add_variant)
