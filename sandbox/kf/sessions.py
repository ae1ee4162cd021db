"""The kf session state machine: the one transition table, 48 h sessions and windows, and msg_code issue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sandbox.ids import IdFactory
from sandbox.kf.errors import kf_error
from sandbox.kf.model import (
    HOUR,
    SESSION_S,
    WINDOW_S,
    CodeKind,
    KfAccount,
    KfChat,
    KfCode,
    KfStore,
    ServicerStatus,
    ServiceState,
)

S = ServiceState

# Transitions `kf/service_state/trans` may make, from the state table of [D:94669] (mirrored in silenceper
# servicestate.go and WxJava): 0 untreated -> bot, pool or a servicer; 1 bot -> pool or a servicer; 2 pool -> a
# servicer; 3 human -> another servicer (transfer) or ended; 4 ended -> nothing ("不允许通过API变更会话状态"; only a
# customer message starts a new session). Everything else answers 95016.
# UNCONFIRMED, stricter reading of the table: 0/1/2 -> 4 (ending a session that no person holds) and staying in the
# same state (1 -> 1, or 3 -> 3 with the same servicer) are refused too, so a bot must read the state before it
# changes it rather than "ensure" it blindly.
TRANSITIONS: Final[dict[ServiceState, frozenset[ServiceState]]] = {
    S.UNTREATED: frozenset({S.BOT, S.POOL, S.HUMAN}),
    S.BOT: frozenset({S.POOL, S.HUMAN}),
    S.POOL: frozenset({S.HUMAN}),
    S.HUMAN: frozenset({S.HUMAN, S.ENDED}),
    S.ENDED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class CodeRule:
    ttl_s: int
    msgtypes: frozenset[str]
    # Except for the welcome code, a code works only while the session is still in the state that produced it
    # ("响应消息仅支持会话处于获取该code的会话状态时发送", WxJava's copy of the doc).
    state_required: ServiceState | None


CODE_RULES: Final[dict[CodeKind, CodeRule]] = {
    CodeKind.WELCOME: CodeRule(20, frozenset({"text", "msgmenu"}), None),
    CodeKind.POOL: CodeRule(48 * HOUR, frozenset({"text"}), S.POOL),
    CodeKind.SESSION: CodeRule(48 * HOUR, frozenset({"text"}), S.HUMAN),
    CodeKind.END: CodeRule(20, frozenset({"text", "msgmenu"}), S.ENDED),
}


def current_state(chat: KfChat, now: int) -> ServiceState:
    """The state now: a session ends by itself 48 h after it started.

    UNCONFIRMED whether the 48 h run from the session's start or from the customer's last message; the sandbox
    counts from the start, the stricter reading, and pushes no event when a session lapses.
    """
    started = chat.session_started_at
    if chat.state is not S.ENDED and started is not None and now >= started + SESSION_S:
        chat.state = S.ENDED
        chat.servicer_userid = ""
    return chat.state


def window_open(chat: KfChat, now: int) -> bool:
    """Within 48 h of the customer's last message (the boundary itself is already closed)."""
    return chat.last_customer_at is not None and now < chat.last_customer_at + WINDOW_S


def customer_spoke(chat: KfChat, now: int) -> None:
    """A customer message opens a fresh 5-message allowance and, after an ended session, a new one at state 0."""
    if current_state(chat, now) is S.ENDED:
        _start_session(chat, now, S.UNTREATED, "")
    chat.last_customer_at = now
    chat.sends_used = 0
    chat.last_seen_at = now


def _start_session(chat: KfChat, now: int, state: ServiceState, servicer: str) -> None:
    chat.state = state
    chat.servicer_userid = servicer
    chat.session_started_at = now
    chat.pool_code_given = False
    chat.session_code_given = False


def issue_code(store: KfStore, ids: IdFactory, chat: KfChat, kind: CodeKind, now: int) -> str:
    rule = CODE_RULES[kind]
    code = KfCode(ids.kf_code(), kind, chat.open_kfid, chat.external_userid, now + rule.ttl_s, rule.state_required)
    store.codes[code.code] = code
    return code.code


def is_receiving(account: KfAccount, userid: str) -> bool:
    return account.servicers.get(userid) is ServicerStatus.RECEIVING


def trans(
    store: KfStore, ids: IdFactory, account: KfAccount, chat: KfChat, target: ServiceState, servicer: str, now: int
) -> str | None:
    """kf/service_state/trans; returns the msg_code it hands out, if any.

    msg_code comes back "将会话初次变更为service_state为2和3时 … service_state为4时" (the first time a session
    enters the pool or a servicer's hands, and on ending). UNCONFIRMED whether an API change also pushes a
    session_status_change event; the sandbox pushes none, as for other API-made changes (WECOM.md §2b).
    """
    state = current_state(chat, now)
    if target not in TRANSITIONS[state]:
        raise kf_error(95016, f"{int(state)} -> {int(target)}")
    if target is S.HUMAN:
        # UNCONFIRMED: a missing servicer, a non-servicer and a servicer who stopped receiving all answer 95014.
        if not is_receiving(account, servicer):
            raise kf_error(95014, servicer or "servicer_userid missing")
        if state is S.HUMAN and servicer == chat.servicer_userid:
            raise kf_error(95016, "already with this servicer")
    chat.state = target
    chat.servicer_userid = servicer if target is S.HUMAN else ""
    if target is S.POOL and not chat.pool_code_given:
        chat.pool_code_given = True
        return issue_code(store, ids, chat, CodeKind.POOL, now)
    if target is S.HUMAN and not chat.session_code_given:
        chat.session_code_given = True
        return issue_code(store, ids, chat, CodeKind.SESSION, now)
    if target is S.ENDED:
        return issue_code(store, ids, chat, CodeKind.END, now)
    return None


def servicer_reenters(chat: KfChat, servicer: str, now: int) -> None:
    """A servicer who writes into an ended session takes it (state 3, session_status_change type 4) [D:94669]."""
    _start_session(chat, now, S.HUMAN, servicer)
    chat.session_code_given = True
