"""微信客服 (kf) state: accounts, per-customer chats and sessions, the message stream, codes, tokens and sends."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Final

from sandbox.model import ActionError
from sandbox.wire import Json

HOUR: Final = 3600
# WECOM.md §2d: replies only within 48 h of the customer's last message, at most 5 of them.
WINDOW_S: Final = 48 * HOUR
QUOTA: Final = 5
# One session is 48 h or until it is ended [D:94698].
SESSION_S: Final = 48 * HOUR
# sync_msg with an empty cursor starts at the earliest message within 3 days.
RETENTION_S: Final = 3 * 24 * HOUR
# The callback Token is valid for 10 minutes.
TOKEN_TTL_S: Final = 600


class ServiceState(IntEnum):
    UNTREATED = 0
    BOT = 1
    POOL = 2
    HUMAN = 3
    ENDED = 4


class Origin(IntEnum):
    CUSTOMER = 3
    SYSTEM = 4
    SERVICER = 5


class ServicerStatus(IntEnum):
    RECEIVING = 1
    STOPPED = 2


class CodeKind(StrEnum):
    """The four send_msg_on_event code sources (WECOM.md §2d; WxJava WxCpKfService#sendMsgOnEvent table)."""

    WELCOME = "welcome"
    POOL = "pool"
    SESSION = "session"
    END = "end"


class Speaker(StrEnum):
    """Who a transcript line came from, for /sandbox/kf/chats."""

    CUSTOMER = "customer"
    SYSTEM = "system"
    SERVICER = "servicer"
    API = "api"


@dataclass(slots=True)
class KfAccount:
    open_kfid: str
    name: str
    avatar: str
    # Servicer (接待人员) userid -> ServicerStatus; insertion order is the order servicer/list reports.
    servicers: dict[str, ServicerStatus] = field(default_factory=dict)
    # Accounts handed to the API in the admin console ("通过API管理微信客服账号").
    manage_privilege: bool = True


@dataclass(frozen=True, slots=True)
class StreamItem:
    """One message that sync_msg can return: `item` is the msg_list element exactly as served."""

    seq: int
    open_kfid: str
    send_time: int
    item: Json


@dataclass(slots=True)
class TranscriptLine:
    """One line of a chat as the simulator page shows it, including the API's own sends."""

    speaker: Speaker
    msgid: str
    send_time: int
    msgtype: str
    message: Json
    via: str = ""
    failed: bool = False

    def to_json(self) -> Json:
        body: Json = {
            "from": self.speaker.value,
            "msgid": self.msgid,
            "send_time": self.send_time,
            "msgtype": self.msgtype,
            "message": self.message,
        }
        if self.via:
            body["via"] = self.via
        if self.failed:
            body["failed"] = True
        return body


@dataclass(slots=True)
class KfChat:
    """One WeChat customer with one kf account: the current session and the send allowance."""

    open_kfid: str
    external_userid: str
    state: ServiceState = ServiceState.ENDED
    servicer_userid: str = ""
    session_started_at: int | None = None
    last_customer_at: int | None = None
    # Sends accepted since the customer's last message (the 5-message allowance).
    sends_used: int = 0
    # msg_code is handed out only the first time a session enters the pool or a servicer's hands.
    pool_code_given: bool = False
    session_code_given: bool = False
    last_welcome_at: int | None = None
    last_enter: Json | None = None
    last_seen_at: int | None = None
    transcript: list[TranscriptLine] = field(default_factory=list)


@dataclass(slots=True)
class KfCode:
    code: str
    kind: CodeKind
    open_kfid: str
    external_userid: str
    expires_at: int
    # The state the session must still be in when the code is used; None for welcome codes.
    state_required: ServiceState | None
    used: bool = False


@dataclass(frozen=True, slots=True)
class ApiSend:
    """A message the API sent (kf/send_msg or send_msg_on_event), kept for msgid dedupe and menu clicks."""

    msgid: str
    open_kfid: str
    touser: str
    msgtype: str
    payload: Json


@dataclass(frozen=True, slots=True)
class IssuedToken:
    open_kfid: str
    expires_at: int


@dataclass(slots=True)
class KfStore:
    accounts: dict[str, KfAccount] = field(default_factory=dict)
    chats: dict[tuple[str, str], KfChat] = field(default_factory=dict)
    stream: list[StreamItem] = field(default_factory=list)
    codes: dict[str, KfCode] = field(default_factory=dict)
    sent: dict[tuple[str, str], ApiSend] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    # Epochs of recent token-less sync_msg calls per scope (an open_kfid, or "" for all accounts).
    untokened_calls: dict[str, deque[int]] = field(default_factory=dict)
    next_seq: int = 1
    # Signs sync_msg cursors so a forged or mangled one is refused instead of silently skipping messages.
    cursor_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def account(self, open_kfid: str | None) -> KfAccount:
        """The named account, or the first one when none is named (the simulator's default)."""
        if not open_kfid:
            return next(iter(self.accounts.values()))
        found = self.accounts.get(open_kfid)
        if found is None:
            raise ActionError(
                404, "unknown_kf_account", f"未找到客服账号 {open_kfid}", f"unknown kf account {open_kfid}"
            )
        return found

    def chat(self, open_kfid: str, external_userid: str) -> KfChat:
        key = (open_kfid, external_userid)
        found = self.chats.get(key)
        if found is None:
            found = self.chats[key] = KfChat(open_kfid, external_userid)
        return found

    def existing_chat(self, open_kfid: str, external_userid: str) -> KfChat | None:
        return self.chats.get((open_kfid, external_userid))

    def take_seq(self) -> int:
        seq = self.next_seq
        self.next_seq += 1
        return seq
