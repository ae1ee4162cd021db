"""Appending to a kf account's message stream: customer, servicer and system messages in sync_msg's shape."""

from __future__ import annotations

from typing import Final

from sandbox.ids import IdFactory
from sandbox.kf.model import KfChat, KfStore, Origin, Speaker, StreamItem, TranscriptLine
from sandbox.kf.sessions import customer_spoke
from sandbox.wire import Json

SPEAKERS: Final[dict[object, Speaker]] = {
    int(Origin.CUSTOMER): Speaker.CUSTOMER,
    int(Origin.SYSTEM): Speaker.SYSTEM,
    int(Origin.SERVICER): Speaker.SERVICER,
}


def _append(store: KfStore, chat: KfChat | None, open_kfid: str, item: Json, now: int) -> StreamItem:
    entry = StreamItem(store.take_seq(), open_kfid, now, item)
    store.stream.append(entry)
    if chat is not None:
        # An injected element may carry any origin; one the page cannot name is shown as the customer's.
        speaker = SPEAKERS.get(item.get("origin"), Speaker.CUSTOMER)
        chat.transcript.append(
            TranscriptLine(speaker, str(item.get("msgid", "")), now, str(item.get("msgtype", "")), item)
        )
    return entry


def _item(ids: IdFactory, chat: KfChat, origin: Origin, now: int, servicer: str = "") -> Json:
    """The common head of every msg_list element, in the field order of the doc's sample."""
    item: Json = {
        "msgid": ids.kf_msgid(),
        "open_kfid": chat.open_kfid,
        "external_userid": chat.external_userid,
        "send_time": now,
        "origin": int(origin),
    }
    if servicer:
        item["servicer_userid"] = servicer
    return item


def customer_message(store: KfStore, ids: IdFactory, chat: KfChat, msgtype: str, body: Json, now: int) -> StreamItem:
    """Something the WeChat customer sent: it also resets the reply window and allowance."""
    customer_spoke(chat, now)
    item = _item(ids, chat, Origin.CUSTOMER, now)
    item.update(msgtype=msgtype)
    item[msgtype] = body
    return _append(store, chat, chat.open_kfid, item, now)


def servicer_message(store: KfStore, ids: IdFactory, chat: KfChat, servicer: str, text: str, now: int) -> StreamItem:
    item = _item(ids, chat, Origin.SERVICER, now, servicer)
    item.update(msgtype="text", text={"content": text})
    return _append(store, chat, chat.open_kfid, item, now)


def _event_head(ids: IdFactory, now: int) -> Json:
    """An event item's head: open_kfid and external_userid live only inside `event` ("msgtype为event，该字段不返回",
    WECOM.md §2d)."""
    return {"msgid": ids.kf_msgid(), "send_time": now, "origin": int(Origin.SYSTEM), "msgtype": "event"}


def chat_event(store: KfStore, ids: IdFactory, chat: KfChat, event: Json, now: int) -> StreamItem:
    """A system event about one customer: open_kfid and external_userid are inside the event object only."""
    item = _event_head(ids, now)
    item["event"] = {
        "event_type": event["event_type"],
        "open_kfid": chat.open_kfid,
        "external_userid": chat.external_userid,
        **{k: v for k, v in event.items() if k != "event_type"},
    }
    return _append(store, chat, chat.open_kfid, item, now)


def account_event(store: KfStore, ids: IdFactory, open_kfid: str, event: Json, now: int) -> StreamItem:
    """A system event about the account itself (servicer_status_change): no customer is involved."""
    item = _event_head(ids, now)
    item["event"] = {"event_type": event["event_type"], "open_kfid": open_kfid} | {
        k: v for k, v in event.items() if k != "event_type"
    }
    return _append(store, None, open_kfid, item, now)


def injected_message(store: KfStore, ids: IdFactory, chat: KfChat, raw: Json, now: int) -> StreamItem:
    """Any msg_list element the simulator supplies, served verbatim over the standard head.

    An injected customer message (origin 3, the default) counts as the customer speaking.
    """
    item = _item(ids, chat, Origin.CUSTOMER, now)
    item.update(raw)
    if item.get("origin") == int(Origin.CUSTOMER):
        customer_spoke(chat, now)
    return _append(store, chat, chat.open_kfid, item, now)
