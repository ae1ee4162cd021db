"""What a claimed outbox row becomes on the wire: the WeCom or OA path and JSON body, built the same on every retry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from bot.channels.apiclient import JsonObject
from bot.channels.officialaccount.client import CUSTOM_SEND_PATH
from services.outbox.messages import TEXT_MAX_BYTES, MessageType, fit_bytes
from storage.models.outbox import OutboxKind
from storage.repos.windows import split_kf_recipient

MASS_PAGE: Final = 1000
TEMPLATE_SEND_PATH: Final = "/cgi-bin/message/template/send"


class Channel(StrEnum):
    WECOM = "wecom"
    OA = "oa"


@dataclass(frozen=True, slots=True)
class Claim:
    """A row this sender holds under lease `attempt` (the lease token), with what the claim decided for it."""

    row_id: int
    attempt: int
    kind: str
    api: str
    recipient: str
    payload: dict[str, Any]
    result: dict[str, Any]
    idempotency_key: str
    priority: int
    lease_until: datetime
    first_attempt_at: datetime
    unknown_since: datetime | None
    targets: tuple[str, ...] = ()  # mass task: who this attempt sends to
    repeat: int = 0  # app message: identical messages sent before it within the duplicate-check interval
    task_id: int | None = None


@dataclass(frozen=True, slots=True)
class Request:
    channel: Channel
    path: str
    body: JsonObject


def kf_msgid(row_id: int, idempotency_key: str) -> str:
    """The kf msgid for a row: stable across resends, and unlike another install's row with the same id.

    kf allows 32 bytes of [0-9a-zA-Z_-].
    """
    salt = hashlib.sha256(idempotency_key.encode()).hexdigest()[:10]
    return f"qk{row_id}_{salt}"


def build_request(claim: Claim, agent_id: int, duplicate_check_interval_s: int) -> Request:
    kind, payload = claim.kind, claim.payload
    if kind == OutboxKind.APP_MESSAGE:
        body = {
            "touser": claim.recipient,
            "agentid": agent_id,
            "enable_duplicate_check": 1,
            "duplicate_check_interval": duplicate_check_interval_s,
            **_app_content(payload, claim.repeat),
        }
        return Request(Channel.WECOM, claim.api, body)
    if kind == OutboxKind.KF_MESSAGE:
        open_kfid, external_userid = split_kf_recipient(claim.recipient)
        body = {"touser": external_userid, "open_kfid": open_kfid, **_kf_content(payload)}
        return Request(Channel.WECOM, claim.api, {**body, "msgid": kf_msgid(claim.row_id, claim.idempotency_key)})
    if kind == OutboxKind.KF_EVENT_MESSAGE:
        body = {"code": claim.recipient, "msgid": kf_msgid(claim.row_id, claim.idempotency_key), **_kf_content(payload)}
        return Request(Channel.WECOM, claim.api, body)
    if kind == OutboxKind.KF_TRANS:
        open_kfid, external_userid = split_kf_recipient(claim.recipient)
        body = {"open_kfid": open_kfid, "external_userid": external_userid, "service_state": payload["service_state"]}
        if payload["servicer_userid"]:
            body["servicer_userid"] = payload["servicer_userid"]
        return Request(Channel.WECOM, claim.api, body)
    if kind == OutboxKind.MARK_TAG:
        body = {"userid": payload["userid"], "external_userid": claim.recipient}
        body |= {k: payload[k] for k in ("add_tag", "remove_tag") if payload.get(k)}
        return Request(Channel.WECOM, claim.api, body)
    if kind == OutboxKind.WELCOME_MESSAGE:
        return Request(
            Channel.WECOM, claim.api, {"welcome_code": claim.recipient, "text": {"content": payload["content"]}}
        )
    if kind == OutboxKind.OA_TEMPLATE:
        return Request(Channel.OA, TEMPLATE_SEND_PATH, oa_template_body(claim.recipient, payload))
    if kind == OutboxKind.OA_MESSAGE:
        return Request(Channel.OA, CUSTOM_SEND_PATH, {"touser": claim.recipient, **_oa_content(payload)})
    if kind == OutboxKind.MASS_TASK:
        return Request(Channel.WECOM, claim.api, mass_task_body(claim))
    if kind == OutboxKind.MASS_POLL:
        return Request(Channel.WECOM, claim.api, {"msgid": claim.recipient, "limit": MASS_PAGE})
    if kind == OutboxKind.MASS_RESULTS:
        body = {"msgid": claim.recipient, "userid": payload["userid"], "limit": MASS_PAGE}
        if payload.get("cursor"):
            body["cursor"] = payload["cursor"]
        return Request(Channel.WECOM, claim.api, body)
    if kind in (OutboxKind.MASS_REMIND, OutboxKind.MASS_CANCEL):
        return Request(Channel.WECOM, claim.api, {"msgid": claim.recipient})
    raise ValueError(f"unknown outbox kind {kind!r}")


def oa_template_body(openid: str, payload: dict[str, Any]) -> JsonObject:
    """template/send: each field as {"value": text}; the link only when there is one."""
    body: JsonObject = {
        "touser": openid,
        "template_id": payload["template_id"],
        "data": {key: {"value": value} for key, value in payload["data"].items()},
    }
    if payload.get("url"):
        body["url"] = payload["url"]
    return body


def _repeat_note(repeat: int) -> str:
    # WeCom's duplicate check would swallow an identical message; a repeat says so in words instead.
    return f"\n（第{repeat + 1}次）" if repeat else ""


def _app_content(payload: dict[str, Any], repeat: int) -> JsonObject:
    note = _repeat_note(repeat)
    kind = payload["type"]
    if kind == MessageType.MARKDOWN:
        return {"msgtype": "markdown", "markdown": {"content": _with_note(payload["content"], note)}}
    if kind == MessageType.CARD:
        card: JsonObject = {
            "card_type": "text_notice",
            "main_title": {"title": payload["title"]},
            "sub_title_text": _with_note(payload.get("description", ""), note),
            "card_action": {"type": 1, "url": payload["url"]},
        }
        if payload.get("fields"):
            card["horizontal_content_list"] = [{"keyname": k, "value": v} for k, v in payload["fields"]]
        return {"msgtype": "template_card", "template_card": card}
    return {"msgtype": "text", "text": {"content": _with_note(payload["content"], note)}}


def _with_note(content: str, note: str) -> str:
    if not note:
        return content
    return fit_bytes(content, TEXT_MAX_BYTES - len(note.encode())) + note


def _kf_content(payload: dict[str, Any]) -> JsonObject:
    if payload["type"] == MessageType.MENU:
        menu = {
            "head_content": payload["head"],
            "list": [{"type": "click", "click": {"id": i["id"], "content": i["text"]}} for i in payload["items"]],
            "tail_content": payload.get("tail", ""),
        }
        return {"msgtype": "msgmenu", "msgmenu": menu}
    return {"msgtype": "text", "text": {"content": payload["content"]}}


def _oa_content(payload: dict[str, Any]) -> JsonObject:
    if payload["type"] == MessageType.MENU:
        menu = {
            "head_content": payload["head"],
            "list": [{"id": i["id"], "content": i["text"]} for i in payload["items"]],
            "tail_content": payload.get("tail", ""),
        }
        return {"msgtype": "msgmenu", "msgmenu": menu}
    return {"msgtype": "text", "text": {"content": payload["content"]}}


def mass_task_body(claim: Claim) -> JsonObject:
    payload = claim.payload
    body: JsonObject = {"chat_type": payload["chat_type"], "sender": claim.recipient}
    if payload["chat_type"] == "group":
        body["chat_id_list"] = list(claim.targets)
        body["allow_select"] = False
    else:
        body["external_userid"] = list(claim.targets)
    if payload.get("text"):
        body["text"] = {"content": payload["text"]}
    if payload.get("attachments"):
        body["attachments"] = [wire_attachment(a) for a in payload["attachments"]]
    return body


def wire_attachment(attachment: dict[str, Any]) -> JsonObject:
    if attachment["type"] == "link":
        link = {"title": attachment["title"], "url": attachment["url"]}
        link |= {k: v for k, v in (("desc", attachment.get("desc")), ("picurl", attachment.get("pic_url"))) if v}
        return {"msgtype": "link", "link": link}
    image = {k: v for k, v in (("media_id", attachment.get("media_id")), ("pic_url", attachment.get("pic_url"))) if v}
    return {"msgtype": "image", "image": image}
