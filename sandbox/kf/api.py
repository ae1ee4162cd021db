"""The 微信客服 (kf) qyapi endpoints: accounts, servicers, customers, sync_msg, sending and session state."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.kf.errors import kf_error
from sandbox.kf.log import KfSendRejected
from sandbox.kf.model import WINDOW_S, KfChat, KfStore, ServiceState
from sandbox.kf.send import SEND_MSG, SEND_ON_EVENT, RepeatedMsgid, send_msg, send_msg_on_event
from sandbox.kf.sessions import current_state, trans
from sandbox.kf.sync import sync_msg
from sandbox.kf.wire import account_json, kf_customer_json
from sandbox.qyapi.reply import QyapiError, api_ok, body_int, json_body
from sandbox.wire import Json

ACCOUNT_PAGE_MAX: Final = 100
BATCHGET_MAX: Final = 100


def _text(body: Json, name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise kf_error(40058, name)
    return value


def _loose(body: Json, name: str) -> str:
    """A field for the rejection log, whatever shape the caller sent."""
    value = body.get(name, "")
    return value if isinstance(value, str) else ""


def _account_id(store: KfStore, value: str) -> str:
    if not value:
        raise kf_error(95004)
    if value not in store.accounts:
        raise kf_error(95000, value)
    return value


async def account_list(request: web.Request) -> web.Response:
    body = await json_body(request)
    offset = body_int(body, "offset", 0)
    limit = body_int(body, "limit", ACCOUNT_PAGE_MAX)
    if offset < 0 or not 1 <= limit <= ACCOUNT_PAGE_MAX:
        raise kf_error(40058, f"offset >= 0 and limit 1-{ACCOUNT_PAGE_MAX}")
    accounts = list(request.app[appkeys.KF].accounts.values())[offset : offset + limit]
    return api_ok({"account_list": [account_json(account) for account in accounts]})


async def servicer_list(request: web.Request) -> web.Response:
    store = request.app[appkeys.KF]
    account = store.accounts[_account_id(store, request.query.get("open_kfid", ""))]
    servicers = [{"userid": userid, "status": int(status)} for userid, status in account.servicers.items()]
    return api_ok({"servicer_list": servicers})


async def customer_batchget(request: web.Request) -> web.Response:
    """Only customers who talked to one of the corp's kf accounts in the last 48 h are known here.

    UNCONFIRMED: WeCom's exact rule for which external_userids it answers; the sandbox takes the 48 h kf window,
    the stricter reading. Everyone else lands in invalid_external_userid.
    """
    body = await json_body(request)
    wanted = body.get("external_userid_list")
    if not isinstance(wanted, list) or not wanted or not all(isinstance(item, str) for item in wanted):
        raise kf_error(40058, "external_userid_list")
    if len(wanted) > BATCHGET_MAX:
        raise kf_error(40058, f"external_userid_list exceeds {BATCHGET_MAX}")
    need_context = body_int(body, "need_enter_session_context", 0)
    if need_context not in (0, 1):
        raise kf_error(40058, "need_enter_session_context")
    corp, store = request.app[appkeys.CORP], request.app[appkeys.KF]
    now = request.app[appkeys.CLOCK].epoch()
    found: list[Json] = []
    invalid: list[str] = []
    for external_userid in dict.fromkeys(wanted):
        chats = _recent_chats(store, external_userid, now)
        customer = corp.customers.get(external_userid)
        if customer is None or not chats:
            invalid.append(external_userid)
            continue
        item = kf_customer_json(customer)
        entered = [chat.last_enter for chat in chats if chat.last_enter is not None]
        if need_context:
            item["enter_session_context"] = entered[-1] if entered else {}
        found.append(item)
    return api_ok({"customer_list": found, "invalid_external_userid": invalid})


def _recent_chats(store: KfStore, external_userid: str, now: int) -> list[KfChat]:
    """The customer's chats with activity in the last 48 h, oldest activity first."""
    recent = [
        (seen, chat)
        for (_, ext), chat in store.chats.items()
        if ext == external_userid and (seen := chat.last_seen_at) is not None and now < seen + WINDOW_S
    ]
    return [chat for _, chat in sorted(recent, key=lambda pair: pair[0])]


async def sync(request: web.Request) -> web.Response:
    body = await json_body(request)
    return api_ok(sync_msg(request.app[appkeys.KF], body, request.app[appkeys.CLOCK].epoch()))


async def send(request: web.Request) -> web.Response:
    app = request.app
    body: Json = {}
    try:
        body = await json_body(request)
        result = send_msg(app[appkeys.KF], app[appkeys.IDS], app[appkeys.CORP], body, _now(app))
    except RepeatedMsgid as repeat:
        app[appkeys.LOG].append(repeat.record)
        raise
    except QyapiError as error:
        _log_rejection(request, SEND_MSG, body, _loose(body, "open_kfid"), _loose(body, "touser"), error)
        raise
    app[appkeys.LOG].append(result.record)
    return api_ok({"msgid": result.msgid})


async def send_on_event(request: web.Request) -> web.Response:
    app = request.app
    store = app[appkeys.KF]
    body: Json = {}
    try:
        body = await json_body(request)
        result = send_msg_on_event(store, app[appkeys.IDS], body, _now(app))
    except RepeatedMsgid as repeat:
        app[appkeys.LOG].append(repeat.record)
        raise
    except QyapiError as error:
        code = store.codes.get(_loose(body, "code"))
        open_kfid, touser = (code.open_kfid, code.external_userid) if code is not None else ("", "")
        _log_rejection(request, SEND_ON_EVENT, body, open_kfid, touser, error)
        raise
    app[appkeys.LOG].append(result.record)
    return api_ok({"msgid": result.msgid})


def _log_rejection(request: web.Request, via: str, body: Json, open_kfid: str, touser: str, error: QyapiError) -> None:
    record = KfSendRejected(
        via, error.code, error.text, open_kfid, touser, _loose(body, "msgid"), _loose(body, "msgtype")
    )
    request.app[appkeys.LOG].append(record)


def _chat_of(request: web.Request, body: Json) -> tuple[str, KfChat]:
    """The (possibly never used) chat named by open_kfid and external_userid in a service_state call."""
    store = request.app[appkeys.KF]
    open_kfid = _account_id(store, _text(body, "open_kfid"))
    external_userid = _text(body, "external_userid")
    if external_userid not in request.app[appkeys.CORP].customers:
        raise kf_error(40096, external_userid or "external_userid missing")
    # A customer who never wrote has no session: state 4, "未开始" (not started).
    chat = store.existing_chat(open_kfid, external_userid) or KfChat(open_kfid, external_userid)
    return open_kfid, chat


async def service_state_get(request: web.Request) -> web.Response:
    body = await json_body(request)
    _, chat = _chat_of(request, body)
    state = current_state(chat, request.app[appkeys.CLOCK].epoch())
    servicer = chat.servicer_userid if state is ServiceState.HUMAN else ""
    return api_ok({"service_state": int(state), "servicer_userid": servicer})


async def service_state_trans(request: web.Request) -> web.Response:
    body = await json_body(request)
    open_kfid, chat = _chat_of(request, body)
    target = body_int(body, "service_state", -1)
    if target not in set(ServiceState):
        raise kf_error(40058, "service_state")
    app = request.app
    store = app[appkeys.KF]
    servicer = _text(body, "servicer_userid")
    code = trans(store, app[appkeys.IDS], store.accounts[open_kfid], chat, ServiceState(target), servicer, _now(app))
    return api_ok({"msg_code": code} if code is not None else {})


def _now(app: web.Application) -> int:
    return app[appkeys.CLOCK].epoch()


def setup_qyapi_kf(app: web.Application) -> None:
    router = app.router
    router.add_post("/cgi-bin/kf/account/list", account_list)
    router.add_get("/cgi-bin/kf/servicer/list", servicer_list)
    router.add_post("/cgi-bin/kf/customer/batchget", customer_batchget)
    router.add_post("/cgi-bin/kf/sync_msg", sync)
    router.add_post("/cgi-bin/kf/send_msg", send)
    router.add_post("/cgi-bin/kf/send_msg_on_event", send_on_event)
    router.add_post("/cgi-bin/kf/service_state/get", service_state_get)
    router.add_post("/cgi-bin/kf/service_state/trans", service_state_trans)
