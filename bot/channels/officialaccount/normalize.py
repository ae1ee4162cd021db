"""A stored Official Account callback to normalized events: a follower's message, a follow or an unfollow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from bot.channels.wecom.parse import parse_xml
from bot.events import ChatKind, ChatMessage, Event, MessageChannel, OaFollowChanged, Person, Speaker, Unrecognized

MEDIA_FIELDS: Final = {
    "image": ("PicUrl", "MediaId"),
    "voice": ("MediaId", "Format", "Recognition"),
    "video": ("MediaId", "ThumbMediaId"),
    "shortvideo": ("MediaId", "ThumbMediaId"),
    "location": ("Location_X", "Location_Y", "Scale", "Label"),
    "link": ("Title", "Description", "Url"),
}


def oa_chat_id(openid: str) -> str:
    return f"oa:{openid}"


def event_from_oa_payload(payload: str, source_key: str, received_at: datetime) -> Event:
    fields = {k: v if isinstance(v, str) else ",".join(v) for k, v in parse_xml(payload).items()}
    openid = fields.get("FromUserName", "")
    try:
        at = datetime.fromtimestamp(int(fields.get("CreateTime", "0")), UTC)
    except ValueError:
        at = received_at
    if at.timestamp() <= 0:
        at = received_at
    msg_type = fields.get("MsgType", "")
    body: dict[str, object]
    menu_id = ""
    if msg_type == "event":
        event = fields.get("Event", "").lower()
        if event in ("subscribe", "unsubscribe"):
            return OaFollowChanged(at, source_key, openid, event == "subscribe")
        return Unrecognized(at, source_key, f"oa:event/{event}")
    if msg_type == "text":
        text, body = fields.get("Content", ""), {"content": fields.get("Content", "")}
        # A tap on a msgmenu option is a text carrying the option's id (WECOM.md §4); kept under kf's name.
        menu_id = fields.get("bizmsgmenuid", "")
        if menu_id:
            body["menu_id"] = menu_id
    elif msg_type in MEDIA_FIELDS:
        body = {name: fields.get(name, "") for name in MEDIA_FIELDS[msg_type]}
        text = fields.get("Recognition", "") or fields.get("Label", "") or fields.get("Title", "")
    else:
        text, body, msg_type = "", {"original_msgtype": msg_type, "raw": fields}, "unknown"
    msgid = fields.get("MsgId", "") or source_key
    return ChatMessage(
        occurred_at=at,
        # The stored message's key ("oa:<msgid>", as kf and the archive do): intake dispatches a message only when
        # this key was new, so the inbox's own dedupe key ("oa:msg:<msgid>") would hide every OA message.
        source_key=f"{MessageChannel.OA.value}:{msgid}",
        channel=MessageChannel.OA,
        chat_kind=ChatKind.OA,
        chat_id=oa_chat_id(openid),
        msgid=msgid,
        speaker=Speaker.CUSTOMER,
        speaker_id=openid,
        customer=Person(openid=openid),
        member_userid=None,
        msgtype=msg_type,
        text=text,
        body=body,
        menu_id=menu_id,
    )
