"""kf/send_msg and kf/send_msg_on_event: the 48 h window, the 5-message allowance, states, codes and msgid dedupe."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.ids import IdFactory
from sandbox.kf.errors import kf_error
from sandbox.kf.log import KfSend, KfSendRepeat
from sandbox.kf.model import QUOTA, ApiSend, CodeKind, KfChat, KfStore, ServiceState, Speaker, TranscriptLine
from sandbox.kf.outgoing import Outgoing, check_message, check_msgid
from sandbox.kf.sessions import CODE_RULES, current_state, window_open
from sandbox.model import Corp
from sandbox.qyapi.reply import QyapiError
from sandbox.wire import Json

SEND_MSG = "send_msg"
MSGID_REPEATED = 95020
SEND_ON_EVENT = "send_msg_on_event"


@dataclass(frozen=True, slots=True)
class SendResult:
    msgid: str
    record: KfSend


class RepeatedMsgid(QyapiError):
    """A msgid already accepted for this account: an error, not ok ("否则接口返回错误", WECOM.md §2d).

    UNCONFIRMED errcode; the sandbox answers 95020. Nothing is delivered or counted again; the log keeps a
    `kf_send_repeat` record so a test can tell a bot's safe resend from a double send.
    """

    def __init__(self, record: KfSendRepeat) -> None:
        super().__init__(MSGID_REPEATED, f"msgid duplicated: {record.msgid}")
        self.record = record


def _string(body: Json, name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise kf_error(40058, name)
    return value


def send_msg(store: KfStore, ids: IdFactory, corp: Corp, body: Json, now: int) -> SendResult:
    """Checks run cheapest-first; a msgid already accepted answers 95020 before any quota, whatever the state.

    UNCONFIRMED in which order WeCom applies its rules; the sandbox checks the window (95002), then the state
    (95018), then the allowance (95001).
    """
    open_kfid = _string(body, "open_kfid")
    if not open_kfid:
        raise kf_error(95004)
    if open_kfid not in store.accounts:
        raise kf_error(95000, open_kfid)
    touser = _string(body, "touser")
    if touser not in corp.customers:
        raise kf_error(40096, touser or "touser missing")
    msgid = check_msgid(body)
    outgoing = check_message(body)
    if msgid is not None and (open_kfid, msgid) in store.sent:
        raise RepeatedMsgid(KfSendRepeat(SEND_MSG, open_kfid, msgid))
    chat = store.existing_chat(open_kfid, touser)
    if chat is None or not window_open(chat, now):
        raise kf_error(95002, "no customer message in the last 48 hours")
    state = current_state(chat, now)
    if state not in (ServiceState.UNTREATED, ServiceState.BOT):
        raise kf_error(95018, f"service_state {int(state)}")
    if chat.sends_used >= QUOTA:
        raise kf_error(95001, f"{QUOTA} messages since the customer's last message")
    return _deliver(store, ids, chat, SEND_MSG, msgid, outgoing, now)


def send_msg_on_event(store: KfStore, ids: IdFactory, body: Json, now: int) -> SendResult:
    """A code sends one message. Unknown, used and expired codes answer 40058 (UNCONFIRMED: the exact code).

    UNCONFIRMED whether these messages count toward the 5-message allowance; the sandbox counts them, the
    stricter reading, so a bot that spends all five before a closing survey finds out here.
    """
    value = _string(body, "code")
    if not value:
        raise kf_error(40058, "code missing")
    code = store.codes.get(value)
    if code is None:
        raise kf_error(40058, "invalid code")
    msgid = check_msgid(body)
    outgoing = check_message(body, CODE_RULES[code.kind].msgtypes)
    if msgid is not None and (code.open_kfid, msgid) in store.sent:
        raise RepeatedMsgid(KfSendRepeat(SEND_ON_EVENT, code.open_kfid, msgid))
    if code.used:
        raise kf_error(40058, "code already used")
    if now >= code.expires_at:
        raise kf_error(40058, "code expired")
    chat = store.chat(code.open_kfid, code.external_userid)
    if code.state_required is not None and current_state(chat, now) is not code.state_required:
        raise kf_error(95018, f"the code is for service_state {int(code.state_required)}")
    if window_open(chat, now) and chat.sends_used >= QUOTA:
        raise kf_error(95001, f"{QUOTA} messages since the customer's last message")
    code.used = True
    if code.kind is CodeKind.WELCOME:
        chat.last_welcome_at = now
    return _deliver(store, ids, chat, SEND_ON_EVENT, msgid, outgoing, now, code.code)


def _deliver(
    store: KfStore,
    ids: IdFactory,
    chat: KfChat,
    via: str,
    msgid: str | None,
    outgoing: Outgoing,
    now: int,
    code: str = "",
) -> SendResult:
    final = msgid or ids.kf_msgid()
    msgtype, payload = outgoing.msgtype, outgoing.payload
    store.sent[(chat.open_kfid, final)] = ApiSend(final, chat.open_kfid, chat.external_userid, msgtype, payload)
    chat.sends_used += 1
    chat.transcript.append(TranscriptLine(Speaker.API, final, now, msgtype, {msgtype: payload}, via=via))
    content = payload.get("content") if msgtype == "text" else None
    record = KfSend(
        via=via,
        open_kfid=chat.open_kfid,
        touser=chat.external_userid,
        msgid=final,
        msgtype=msgtype,
        content=content if isinstance(content, str) else None,
        menu=payload if msgtype == "msgmenu" else None,
        payload=payload,
        sends_used=chat.sends_used,
        code=code,
    )
    return SendResult(final, record)
