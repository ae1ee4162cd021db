"""POST /sandbox/act/<action>: simulated client-side actions, each changing state and queueing its callbacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.admin.chat import CHAT_ACTIONS
from sandbox.admin.kf import KF_ACTIONS, act_kf
from sandbox.contacts.actions import (
    ActionResult,
    ContactEdit,
    add_contact,
    delete_customer,
    delete_rep,
    edit_contact,
    new_customer,
)
from sandbox.contacts.bulk import seed_customers
from sandbox.contacts.group_actions import create_group, dismiss_group, join_group, leave_group, rename_group
from sandbox.contacts.group_lag import GroupLag
from sandbox.http_json import Body, error_response, json_response, read_object
from sandbox.ids import IdFactory
from sandbox.messages.inbound import member_app_say
from sandbox.model import ActionError, Corp


@dataclass(frozen=True, slots=True)
class World:
    corp: Corp
    ids: IdFactory
    now: int
    lag: GroupLag


def _add_contact(w: World, b: Body) -> ActionResult:
    customer, member = b.text("customer"), b.text("member")
    return add_contact(w.corp, w.ids, w.now, customer, member, b.optional_text("state") or "", b.integer("add_way", 1))


def _edit_contact(w: World, b: Body) -> ActionResult:
    edit = ContactEdit(
        remark=b.optional_text("remark"),
        description=b.optional_text("description"),
        tags=b.text_list("tags"),
        remark_mobiles=b.text_list("remark_mobiles"),
    )
    return edit_contact(w.corp, w.now, b.text("member"), b.text("customer"), edit)


def _delete_customer(w: World, b: Body) -> ActionResult:
    return delete_customer(w.corp, w.now, b.text("member"), b.text("customer"))


def _delete_rep(w: World, b: Body) -> ActionResult:
    return delete_rep(w.corp, w.now, b.text("customer"), b.text("member"))


def _join_group(w: World, b: Body) -> ActionResult:
    scene = b.optional_text("scene") or "invite"
    chat_id = b.text("group")
    with w.lag.change(w.corp, chat_id):
        return join_group(w.corp, w.ids, w.now, b.text("customer"), chat_id, scene, b.optional_text("invitor"))


def _leave_group(w: World, b: Body) -> ActionResult:
    chat_id = b.text("group")
    with w.lag.change(w.corp, chat_id):
        return leave_group(w.corp, w.ids, w.now, b.text("customer"), chat_id, b.flag("removed"))


def _create_group(w: World, b: Body) -> ActionResult:
    members = b.text_list("members") or []
    notice = b.optional_text("notice") or ""
    return create_group(w.corp, w.ids, w.now, b.text("owner"), b.text("name"), members, notice)


def _dismiss_group(w: World, b: Body) -> ActionResult:
    return dismiss_group(w.corp, w.now, b.text("group"))


def _rename_group(w: World, b: Body) -> ActionResult:
    return rename_group(w.corp, w.now, b.text("group"), b.text("name"))


def _new_customer(w: World, b: Body) -> ActionResult:
    return new_customer(w.corp, w.ids, b.text("name"), b.integer("gender", 0), b.optional_text("unionid") or "")


def _seed_customers(w: World, b: Body) -> ActionResult:
    return seed_customers(w.corp, w.ids, w.now, b.text("name"), b.integer("count", 1), b.text_list("members") or [])


ACTIONS: Final[dict[str, Callable[[World, Body], ActionResult]]] = {
    "add-contact": _add_contact,
    "edit-contact": _edit_contact,
    "delete-customer": _delete_customer,
    "delete-rep": _delete_rep,
    "join-group": _join_group,
    "leave-group": _leave_group,
    "create-group": _create_group,
    "dismiss-group": _dismiss_group,
    "rename-group": _rename_group,
    "new-customer": _new_customer,
    "seed-customers": _seed_customers,
}


async def act(request: web.Request) -> web.Response:
    """The state changes and the callbacks are queued with no await in between, so no reader sees half of it."""
    name = request.match_info["action"]
    if name in KF_ACTIONS:
        return await act_kf(request, name)
    if (chat_action := CHAT_ACTIONS.get(name)) is not None:
        return await chat_action(request)
    if name == "member-app-say":
        return await member_app_say(request)
    runner = ACTIONS.get(name)
    try:
        if runner is None:
            known = ", ".join([*ACTIONS, *KF_ACTIONS, *CHAT_ACTIONS, "member-app-say"])
            raise ActionError(404, "unknown_action", f"未知操作 {name}（可用：{known}）", f"unknown action {name}")
        body = Body(await read_object(request))
        app = request.app
        world = World(app[appkeys.CORP], app[appkeys.IDS], app[appkeys.CLOCK].epoch(), app[appkeys.GROUP_LAG])
        result = runner(world, body)
    except ActionError as error:
        return error_response(error)
    sender = request.app[appkeys.SENDER]
    delivery_ids = [sender.submit(event) for event in result.events]
    return json_response({"ok": True, "action": name, result.key: result.fragment, "delivery_ids": delivery_ids})
