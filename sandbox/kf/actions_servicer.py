"""What servicers (接待人员) do in the WeCom client: reply, take from the pool, transfer, end, go on or off duty."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sandbox.http_json import Body
from sandbox.kf.actions_common import KfActionResult, KfWorld, existing_chat, servicer_of
from sandbox.kf.model import KfAccount, KfChat, ServicerStatus, ServiceState, Speaker
from sandbox.kf.sessions import current_state, is_receiving, servicer_reenters, trans, window_open
from sandbox.kf.stream import account_event, chat_event, servicer_message
from sandbox.model import ActionError
from sandbox.wire import Json

TEXT_MAX: Final = 2048
# msg_send_fail's fail_type values (WECOM.md §2d).
FAIL_TYPES: Final = frozenset({0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12})


def _state_error(account: KfAccount, chat: KfChat, state: ServiceState, wanted: str) -> ActionError:
    return ActionError(
        409,
        "bad_service_state",
        f"「{account.name}」与客户 {chat.external_userid} 的会话状态为 {int(state)}，{wanted}",
        f"the session is in service_state {int(state)}: {wanted}",
    )


def _receiving(w: KfWorld, account: KfAccount, userid: str) -> str:
    servicer_of(w, account, userid)
    if not is_receiving(account, userid):
        raise ActionError(409, "servicer_stopped", f"{userid} 已停止接待", f"{userid} has stopped receiving")
    return userid


def _chat(w: KfWorld, b: Body) -> tuple[KfAccount, KfChat, ServiceState]:
    account = w.store.account(b.optional_text("open_kfid"))
    customer = w.corp.customer(b.text("customer"))
    chat = existing_chat(w, account, customer.external_userid)
    return account, chat, current_state(chat, w.now)


def _status_event(w: KfWorld, chat: KfChat, change_type: int, fields: Json) -> KfActionResult:
    event: Json = {"event_type": "session_status_change", "change_type": change_type, **fields}
    account = w.store.account(chat.open_kfid)
    return KfActionResult(account, chat, [chat_event(w.store, w.ids, chat, event, w.now)], dict(fields))


def kf_servicer_say(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """A reply from the WeCom client (origin 5). In state 3 only the session's servicer may write; writing into an
    ended session within the customer's 48 h takes it over (session_status_change type 4) [D:94669]."""
    account, chat, state = _chat(w, b)
    member = servicer_of(w, account, b.text("member"))
    text = b.text("text")
    if len(text) > TEXT_MAX:
        raise ActionError(400, "too_long", f"消息最多 {TEXT_MAX} 个字符", f"text is limited to {TEXT_MAX} characters")
    result = KfActionResult(account, chat)
    if state is ServiceState.ENDED:
        if not window_open(chat, w.now):
            raise _state_error(account, chat, state, "客户 48 小时内没有发消息，不能再回复 / outside the 48 h window")
        servicer_reenters(chat, member, w.now)
        result = _status_event(w, chat, 4, {"new_servicer_userid": member})
    elif state is not ServiceState.HUMAN or chat.servicer_userid != member:
        raise _state_error(account, chat, state, f"没有分配给 {member} / not assigned to {member}")
    result.items.append(servicer_message(w.store, w.ids, chat, member, text, w.now))
    return result


def kf_take(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """A servicer takes the session from the pool: type 1, with the reply msg_code (48 h, text)."""
    account, chat, state = _chat(w, b)
    member = _receiving(w, account, b.text("member"))
    if state is not ServiceState.POOL:
        raise _state_error(account, chat, state, "不在待接入池中 / not waiting in the pool")
    code = trans(w.store, w.ids, account, chat, ServiceState.HUMAN, member, w.now)
    fields: Json = {"new_servicer_userid": member}
    if code is not None:
        fields["msg_code"] = code
    return _status_event(w, chat, 1, fields)


def kf_transfer(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """The current servicer hands the session to another: type 2, no msg_code."""
    account, chat, state = _chat(w, b)
    member = _receiving(w, account, b.text("member"))
    if state is not ServiceState.HUMAN:
        raise _state_error(account, chat, state, "不在人工接待中 / not with a servicer")
    if member == chat.servicer_userid:
        raise ActionError(409, "same_servicer", f"会话已由 {member} 接待", f"{member} already has the session")
    old = chat.servicer_userid
    trans(w.store, w.ids, account, chat, ServiceState.HUMAN, member, w.now)
    return _status_event(w, chat, 2, {"old_servicer_userid": old, "new_servicer_userid": member})


def kf_end(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """The servicer ends the session: state 4, type 3, with the closing msg_code (20 s, text or menu)."""
    account, chat, state = _chat(w, b)
    member = b.optional_text("member")
    if state is not ServiceState.HUMAN or (member and member != chat.servicer_userid):
        raise _state_error(account, chat, state, "只有接待中的接待人员可以结束会话 / only its servicer can end it")
    old = chat.servicer_userid
    code = trans(w.store, w.ids, account, chat, ServiceState.ENDED, "", w.now)
    fields: Json = {"old_servicer_userid": old}
    if code is not None:
        fields["msg_code"] = code
    return _status_event(w, chat, 3, fields)


def kf_servicer_status(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """servicer_status_change: 1 receiving, 2 stopped (with stop_type 0 stopped, 1 away)."""
    account = w.store.account(b.optional_text("open_kfid"))
    member = servicer_of(w, account, b.text("member"))
    status = b.integer("status", 0)
    if status not in (1, 2):
        raise ActionError(400, "bad_status", "status 只能是 1（接待中）或 2（停止接待）", "status must be 1 or 2")
    account.servicers[member] = ServicerStatus(status)
    event: Json = {"event_type": "servicer_status_change", "servicer_userid": member, "status": status}
    if status == ServicerStatus.STOPPED:
        event["stop_type"] = b.integer("stop_type", 0)
    item = account_event(w.store, w.ids, account.open_kfid, event, w.now)
    return KfActionResult(account, None, [item], {"servicer_userid": member, "status": status})


def kf_send_fail(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """A message the API sent is not delivered after all (e.g. fail_type 10, the user refused): msg_send_fail."""
    account = w.store.account(b.optional_text("open_kfid"))
    msgid = b.text("msgid")
    fail_type = b.integer("fail_type", 0)
    if fail_type not in FAIL_TYPES:
        raise ActionError(400, "bad_fail_type", "fail_type 不在文档列出的取值中", "fail_type is not a documented value")
    sent = w.store.sent.get((account.open_kfid, msgid))
    if sent is None:
        raise ActionError(404, "unknown_message", f"没有发送过消息 {msgid}", f"the API sent no message {msgid}")
    chat = w.store.chat(account.open_kfid, sent.touser)
    for line in chat.transcript:
        if line.speaker is Speaker.API and line.msgid == msgid:
            line.failed = True
    event: Json = {"event_type": "msg_send_fail", "fail_msgid": msgid, "fail_type": fail_type}
    return KfActionResult(account, chat, [chat_event(w.store, w.ids, chat, event, w.now)])
