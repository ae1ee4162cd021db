"""Customer-group read APIs: externalcontact/groupchat/list and externalcontact/groupchat/get."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.qyapi.reply import QyapiError, api_ok, body_int, body_str, decode_cursor, encode_cursor, json_body
from sandbox.wire import group_chat_json

LIMIT_MAX: Final = 1000
OWNER_FILTER_MAX: Final = 100


def _owner_filter(body: dict[str, object]) -> set[str] | None:
    raw = body.get("owner_filter")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise QyapiError(40058, "invalid Request Parameter: owner_filter")
    userids = raw.get("userid_list", [])
    if not isinstance(userids, list) or not all(isinstance(u, str) for u in userids):
        raise QyapiError(40058, "invalid Request Parameter: userid_list")
    if len(userids) > OWNER_FILTER_MAX:
        raise QyapiError(40058, f"invalid Request Parameter: userid_list exceeds {OWNER_FILTER_MAX}")
    # An empty list filters nothing, the same as leaving owner_filter out.
    return set(userids) or None


async def groupchat_list(request: web.Request) -> web.Response:
    """Paged by an opaque cursor over creation order, so groups created between pages are not skipped."""
    body = await json_body(request)
    # limit is required by the doc; leaving it out is refused, the stricter reading.
    limit = body_int(body, "limit", default=-1)
    if not 1 <= limit <= LIMIT_MAX:
        raise QyapiError(40058, f"invalid Request Parameter: limit must be 1-{LIMIT_MAX}")
    status_filter = body_int(body, "status_filter", default=0)
    if status_filter not in (0, 1, 2, 3):
        raise QyapiError(40058, "invalid Request Parameter: status_filter")
    owners = _owner_filter(body)
    after = decode_cursor("groupchat", body_str(body, "cursor"))
    groups = [
        group
        for group in request.app[appkeys.CORP].groups.values()
        if group.seq > after
        and (status_filter == 0 or group.status == status_filter)
        and (owners is None or group.owner in owners)
    ]
    groups.sort(key=lambda group: group.seq)
    page, more = groups[:limit], len(groups) > limit
    return api_ok(
        {
            "group_chat_list": [{"chat_id": group.chat_id, "status": group.status} for group in page],
            "next_cursor": encode_cursor("groupchat", page[-1].seq) if more else "",
        }
    )


async def groupchat_get(request: web.Request) -> web.Response:
    body = await json_body(request)
    chat_id = body_str(body, "chat_id")
    need_name = body_int(body, "need_name", default=0)
    corp = request.app[appkeys.CORP]
    group = corp.groups.get(chat_id)
    if group is None:
        raise QyapiError(90501)
    # Right after a membership change WeCom may still answer the old list (WECOM.md §2b); so does the sandbox.
    shown = request.app[appkeys.GROUP_LAG].view(group)
    return api_ok({"group_chat": group_chat_json(corp, shown, need_name == 1)})


def setup_qyapi_groupchat(app: web.Application) -> None:
    app.router.add_post("/cgi-bin/externalcontact/groupchat/list", groupchat_list)
    app.router.add_post("/cgi-bin/externalcontact/groupchat/get", groupchat_get)
