"""kf state rendered as WeCom's JSON (account/list, customer/batchget) and as the admin views."""

from __future__ import annotations

from sandbox.kf.model import QUOTA, WINDOW_S, KfAccount, KfChat, KfStore
from sandbox.kf.sessions import current_state, window_open
from sandbox.model import Corp, Customer
from sandbox.wire import Json


def account_json(account: KfAccount) -> Json:
    return {
        "open_kfid": account.open_kfid,
        "name": account.name,
        "avatar": account.avatar,
        "manage_privilege": account.manage_privilege,
    }


def kf_customer_json(customer: Customer) -> Json:
    """kf/customer/batchget's customer_list item; unionid only when the customer has one bound."""
    body: Json = {
        "external_userid": customer.external_userid,
        "nickname": customer.name,
        "avatar": customer.avatar,
        "gender": customer.gender,
    }
    if customer.unionid:
        body["unionid"] = customer.unionid
    return body


def session_json(corp: Corp, chat: KfChat, now: int) -> Json:
    """One customer's kf session as the simulator shows it: state, servicer, window and allowance."""
    state = current_state(chat, now)
    is_open = window_open(chat, now)
    last = chat.last_customer_at
    return {
        "external_userid": chat.external_userid,
        "name": corp.display_name(chat.external_userid),
        "service_state": int(state),
        "servicer_userid": chat.servicer_userid,
        "session_started_at": chat.session_started_at,
        "last_customer_msg_time": last,
        "window_ends_at": last + WINDOW_S if last is not None else None,
        "sends_used": chat.sends_used if is_open else 0,
        "sends_left": max(QUOTA - chat.sends_used, 0) if is_open else 0,
    }


def _chats_of(store: KfStore, open_kfid: str) -> list[KfChat]:
    return [chat for (kfid, _), chat in store.chats.items() if kfid == open_kfid]


def kf_state_json(store: KfStore, corp: Corp, now: int) -> list[Json]:
    """`kf_accounts` in /sandbox/state: every account with its servicers and sessions."""
    accounts = []
    for account in store.accounts.values():
        body = account_json(account)
        body["servicers"] = [{"userid": u, "status": int(s)} for u, s in account.servicers.items()]
        body["sessions"] = [session_json(corp, chat, now) for chat in _chats_of(store, account.open_kfid)]
        accounts.append(body)
    return accounts


def chats_json(store: KfStore, corp: Corp, open_kfid: str | None, now: int) -> list[Json]:
    """Every kf chat with its lines in order: customer, system events, servicer replies and the API's sends."""
    chats = []
    for account in store.accounts.values():
        if open_kfid and account.open_kfid != open_kfid:
            continue
        for chat in _chats_of(store, account.open_kfid):
            body = session_json(corp, chat, now)
            body["open_kfid"] = account.open_kfid
            body["messages"] = [line.to_json() for line in chat.transcript]
            chats.append(body)
    return chats
