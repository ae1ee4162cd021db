"""POST /sandbox/act/kf-*: simulated kf chat actions and their kf_msg_or_event callbacks; GET /sandbox/kf/chats."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.events import CallbackEvent
from sandbox.http_json import Body, error_response, json_response, read_object
from sandbox.kf.actions_common import KfActionResult, KfWorld
from sandbox.kf.actions_customer import kf_click, kf_enter, kf_inject, kf_recall, kf_say, kf_send_media
from sandbox.kf.actions_servicer import kf_end, kf_send_fail, kf_servicer_say, kf_servicer_status, kf_take, kf_transfer
from sandbox.kf.sync import issue_token
from sandbox.kf.wire import chats_json
from sandbox.model import ActionError

KF_EVENT: Final = "kf_msg_or_event"

KF_ACTIONS: Final[dict[str, Callable[[KfWorld, Body, Mapping[str, object]], KfActionResult]]] = {
    "kf-enter": kf_enter,
    "kf-say": kf_say,
    "kf-click": kf_click,
    "kf-send-media": kf_send_media,
    "kf-inject": kf_inject,
    "kf-recall": kf_recall,
    "kf-servicer-say": kf_servicer_say,
    "kf-take": kf_take,
    "kf-transfer": kf_transfer,
    "kf-end": kf_end,
    "kf-servicer-status": kf_servicer_status,
    "kf-send-fail": kf_send_fail,
}


def kf_callback(open_kfid: str, token: str, now: int) -> CallbackEvent:
    """kf_msg_or_event (WECOM.md §2d): no FromUserName, no ChangeType, and never held back as "late"."""
    fields = (("Token", token), ("OpenKfId", open_kfid))
    return CallbackEvent(KF_EVENT, "", now, fields, may_lag=False, from_user="")


async def act_kf(request: web.Request, name: str) -> web.Response:
    """Like the other actions: state changes and the callback is queued with no await in between.

    One callback (with a fresh 10-minute Token) covers everything one action appended; WeCom may coalesce too.
    """
    app = request.app
    try:
        raw = await read_object(request)
        world = KfWorld(app[appkeys.CORP], app[appkeys.IDS], app[appkeys.KF], app[appkeys.CLOCK].epoch())
        result = KF_ACTIONS[name](world, Body(raw), raw)
    except ActionError as error:
        return error_response(error)
    delivery_ids = []
    if result.items:
        open_kfid = result.account.open_kfid
        token = issue_token(world.store, world.ids, open_kfid, world.now)
        delivery_ids.append(app[appkeys.SENDER].submit(kf_callback(open_kfid, token, world.now)))
    body = {"ok": True, "action": name, **result.fragment(world), "delivery_ids": delivery_ids}
    return json_response(body)


async def get_chats(request: web.Request) -> web.Response:
    """Every kf chat (optionally of one open_kfid) with its lines in order, for the simulator page."""
    app = request.app
    store = app[appkeys.KF]
    open_kfid = request.query.get("open_kfid", "").strip() or None
    try:
        if open_kfid is not None:
            store.account(open_kfid)
    except ActionError as error:
        return error_response(error)
    chats = chats_json(store, app[appkeys.CORP], open_kfid, app[appkeys.CLOCK].epoch())
    return json_response({"chats": chats})


def setup_admin_kf(app: web.Application) -> None:
    app.router.add_get("/sandbox/kf/chats", get_chats)
