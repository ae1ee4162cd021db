"""GET /sandbox/feed: everything the simulator page shows, in one request, so the page polls one endpoint."""

from __future__ import annotations

from aiohttp import web

from sandbox import appkeys
from sandbox.admin.controls import state_body
from sandbox.http_json import error_response, json_response
from sandbox.kf.wire import chats_json
from sandbox.model import ActionError
from sandbox.wire import Json

# Query names and what each one pages through: the page sends back the last position it has seen of each.
CURSORS = ("log", "archive", "oa")


def _cursors(request: web.Request) -> dict[str, int]:
    cursors = {}
    for name in CURSORS:
        raw = request.query.get(name, "0")
        if not raw.isdigit():
            raise ActionError(400, "bad_cursor", f"{name} 应为非负整数", f"{name} must be a non-negative integer")
        cursors[name] = int(raw)
    return cursors


def feed_body(app: web.Application, cursors: dict[str, int]) -> Json:
    """The state, the pending count, and what is new in the log, the archive and the OA since the page's cursors;
    kf chats whole (they are short and change in place: a send can fail after it was shown)."""
    log, archive, oa = app[appkeys.LOG], app[appkeys.ARCHIVE], app[appkeys.OA]
    entries = log.since(cursors["log"])
    pending = app[appkeys.SENDER].pending + app[appkeys.OA_SENDER].pending
    kf = chats_json(app[appkeys.KF], app[appkeys.CORP], None, app[appkeys.CLOCK].epoch())
    return {
        "state": state_body(app),
        "pending": pending,
        "log": {"entries": [e.to_json() for e in entries], "last_seq": entries[-1].seq if entries else cursors["log"]},
        "archive": {
            "messages": [m.admin_json() for m in archive.since(cursors["archive"])],
            "last_seq": archive.last_seq,
        },
        "oa": {"messages": [line.to_json() for line in oa.since(cursors["oa"])], "last_n": oa.last_n},
        "kf": {"chats": kf},
    }


async def get_feed(request: web.Request) -> web.Response:
    try:
        cursors = _cursors(request)
    except ActionError as error:
        return error_response(error)
    return json_response(feed_body(request.app, cursors))


def setup_feed(app: web.Application) -> None:
    app.router.add_get("/sandbox/feed", get_feed)
