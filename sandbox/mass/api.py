"""企业群发 APIs: add_msg_template, its results (get_groupmsg_*), remind_groupmsg_send and cancel_groupmsg_send."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.mass.create import parse_mass_request
from sandbox.mass.engine import MassEngine
from sandbox.mass.model import ChatType
from sandbox.mass.wire import group_msg_json, send_items, task_item_json
from sandbox.qyapi import keys as send_keys
from sandbox.qyapi.reply import QyapiError, api_ok, body_int, body_str, decode_cursor, encode_cursor, json_body
from sandbox.wire import Json

PREFIX: Final = "/cgi-bin/externalcontact/"
# "群发任务记录的起止时间间隔不能超过1个月" [D:93338]; UNCONFIRMED how long a month is, the sandbox allows 30 days.
LIST_SPAN_MAX_S: Final = 30 * 86_400


def _engine(request: web.Request) -> MassEngine:
    """The engine, with any auto-confirm that came due on the sandbox clock applied first."""
    engine = request.app[send_keys.MASS]
    engine.catch_up()
    return engine


def _limit(body: Json, default: int, maximum: int) -> int:
    limit = body_int(body, "limit", default=default)
    # "超过最大值时取默认值": a limit over the maximum means the default, not an error [D:93338].
    return limit if 0 < limit <= maximum else default


def _page(items: list[Json], kind: str, body: Json, default: int, maximum: int) -> tuple[list[Json], str]:
    start = decode_cursor(kind, body_str(body, "cursor"))
    end = start + _limit(body, default, maximum)
    return items[start:end], encode_cursor(kind, end) if end < len(items) else ""


async def add_msg_template(request: web.Request) -> web.Response:
    body = await json_body(request)
    task = _engine(request).create(parse_mass_request(request.app[appkeys.CORP], body))
    return api_ok({"fail_list": task.fail_list, "msgid": task.msgid})


async def get_groupmsg_list_v2(request: web.Request) -> web.Response:
    """Tasks created between start_time and end_time, oldest first; only API-created (企业发表) ones exist here."""
    body = await json_body(request)
    chat_type = body.get("chat_type")
    if chat_type not in (ChatType.SINGLE.value, ChatType.GROUP.value):
        raise QyapiError(40058, "invalid Request Parameter: chat_type")
    start, end = body_int(body, "start_time", default=-1), body_int(body, "end_time", default=-1)
    if start < 0 or end < start or end - start > LIST_SPAN_MAX_S:
        raise QyapiError(40058, "invalid Request Parameter: start_time/end_time (at most one month apart)")
    filter_type = body_int(body, "filter_type", default=2)
    if filter_type not in (0, 1, 2):
        raise QyapiError(40058, "invalid Request Parameter: filter_type")
    # API-created tasks have no creator, so filtering by one, or by 个人发表 (1), leaves none of them.
    wanted = not body_str(body, "creator") and filter_type != 1
    after = decode_cursor("groupmsg", body_str(body, "cursor"))
    tasks = [
        task
        for task in _engine(request).tasks()
        if wanted and task.seq > after and task.chat_type.value == chat_type and start <= task.created_at <= end
    ]
    page = tasks[: _limit(body, 50, 100)]
    more = len(tasks) > len(page)
    return api_ok(
        {
            "next_cursor": encode_cursor("groupmsg", page[-1].seq) if more else "",
            "group_msg_list": [group_msg_json(task) for task in page],
        }
    )


async def get_groupmsg_task(request: web.Request) -> web.Response:
    body = await json_body(request)
    task = _engine(request).dispatched_task(body_str(body, "msgid"))
    items = [task_item_json(part) for part in task.parts.values()]
    page, cursor = _page(items, "groupmsg_task", body, 500, 1000)
    return api_ok({"next_cursor": cursor, "task_list": page})


async def get_groupmsg_send_result(request: web.Request) -> web.Response:
    body = await json_body(request)
    task = _engine(request).dispatched_task(body_str(body, "msgid"))
    userid = body_str(body, "userid")
    if not userid:
        raise QyapiError(41009, "missing userid")
    part = task.parts.get(userid)
    items = send_items(task, part) if part is not None else []
    page, cursor = _page(items, "groupmsg_result", body, 500, 1000)
    return api_ok({"next_cursor": cursor, "send_list": page})


async def remind_groupmsg_send(request: web.Request) -> web.Response:
    body = await json_body(request)
    _engine(request).remind(body_str(body, "msgid"))
    return api_ok()


async def cancel_groupmsg_send(request: web.Request) -> web.Response:
    body = await json_body(request)
    _engine(request).cancel(body_str(body, "msgid"))
    return api_ok()


def setup_qyapi_mass(app: web.Application) -> None:
    router = app.router
    router.add_post(PREFIX + "add_msg_template", add_msg_template)
    router.add_post(PREFIX + "get_groupmsg_list_v2", get_groupmsg_list_v2)
    router.add_post(PREFIX + "get_groupmsg_task", get_groupmsg_task)
    router.add_post(PREFIX + "get_groupmsg_send_result", get_groupmsg_send_result)
    router.add_post(PREFIX + "remind_groupmsg_send", remind_groupmsg_send)
    router.add_post(PREFIX + "cancel_groupmsg_send", cancel_groupmsg_send)
