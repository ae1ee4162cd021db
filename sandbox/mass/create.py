"""add_msg_template's request: checked against WeCom's limits and turned into one part per member who sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sandbox.mass.model import ChatType, Target
from sandbox.model import Corp, Customer
from sandbox.qyapi.reply import QyapiError
from sandbox.wire import Json

TEXT_MAX_BYTES: Final = 4000
ATTACHMENTS_MAX: Final = 9
EXTERNAL_USERIDS_MAX: Final = 10_000
CHAT_IDS_MAX: Final = 2000
# Required fields per attachment type [D:92135]; an image may give media_id or pic_url.
ATTACHMENT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "image": (),
    "link": ("title", "url"),
    "miniprogram": ("title", "pic_media_id", "appid", "page"),
    "video": ("media_id",),
    "file": ("media_id",),
}


@dataclass(frozen=True, slots=True)
class MassRequest:
    chat_type: ChatType
    sender: str
    external_userids: list[str]
    chat_ids: list[str]
    # tag_filter.group_list: OR within a group's tag_list, AND across groups.
    tag_groups: list[frozenset[str]]
    text: str
    attachments: list[Json]
    allow_select: bool


def _bad(name: str, why: str = "") -> QyapiError:
    return QyapiError(40058, f"invalid Request Parameter: {name}{': ' + why if why else ''}")


def _strings(body: Json, name: str, limit: int) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad(name)
    if len(value) > limit:
        raise _bad(name, f"at most {limit}")
    return list(dict.fromkeys(item for item in value if item))


def _text(body: Json) -> str:
    text = body.get("text", {})
    content = text.get("content", "") if isinstance(text, dict) else None
    if not isinstance(content, str):
        raise _bad("text")
    # [D:90313]: a value over its length limit is 40058 (UNCONFIRMED that this API does not use 45002 instead).
    if len(content.encode()) > TEXT_MAX_BYTES:
        raise _bad("text.content", f"at most {TEXT_MAX_BYTES} bytes")
    return content


def _attachment(item: object) -> Json:
    msgtype = item.get("msgtype") if isinstance(item, dict) else None
    if not isinstance(item, dict) or not isinstance(msgtype, str) or msgtype not in ATTACHMENT_FIELDS:
        raise QyapiError(41065)
    payload = item.get(msgtype)
    if not isinstance(payload, dict):
        raise _bad(f"attachments.{msgtype}")
    required = ATTACHMENT_FIELDS[msgtype] or (("media_id",) if not payload.get("pic_url") else ())
    for name in required:
        if not isinstance(payload.get(name), str) or not payload[name]:
            raise _bad(f"attachments.{msgtype}.{name}")
    return {"msgtype": msgtype, msgtype: payload}


def _attachments(body: Json) -> list[Json]:
    value = body.get("attachments", [])
    if not isinstance(value, list):
        raise _bad("attachments")
    if len(value) > ATTACHMENTS_MAX:
        raise QyapiError(41064)
    return [_attachment(item) for item in value]


def _tag_groups(body: Json) -> list[frozenset[str]]:
    tag_filter = body.get("tag_filter", {})
    groups = tag_filter.get("group_list", []) if isinstance(tag_filter, dict) else None
    if not isinstance(groups, list):
        raise _bad("tag_filter")
    result = []
    for group in groups:
        tags = group.get("tag_list") if isinstance(group, dict) else None
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise _bad("tag_filter.group_list")
        result.append(frozenset(tags))
    return result


def parse_mass_request(corp: Corp, body: Json) -> MassRequest:
    raw_type = body.get("chat_type", ChatType.SINGLE.value)
    if raw_type not in (ChatType.SINGLE.value, ChatType.GROUP.value):
        raise QyapiError(86214)
    chat_type = ChatType(raw_type)
    sender = body.get("sender", "")
    if not isinstance(sender, str):
        raise _bad("sender")
    if sender:
        # Userids match case-insensitively; the member's own spelling keys the parts and follows.
        member = corp.find_member(sender)
        if member is None:
            raise QyapiError(40003)
        sender = member.userid
    # UNCONFIRMED codes for a missing sender (group) and for neither ids nor sender (single); 40058 is the default.
    if chat_type is ChatType.GROUP and not sender:
        raise _bad("sender", "required for chat_type group")
    allow_select = body.get("allow_select", False)
    if not isinstance(allow_select, bool):
        raise _bad("allow_select")
    request = MassRequest(
        chat_type=chat_type,
        sender=sender,
        external_userids=_strings(body, "external_userid", EXTERNAL_USERIDS_MAX),
        chat_ids=_strings(body, "chat_id_list", CHAT_IDS_MAX),
        tag_groups=_tag_groups(body),
        text=_text(body),
        attachments=_attachments(body),
        allow_select=allow_select,
    )
    if chat_type is ChatType.SINGLE and not request.external_userids and not sender:
        raise _bad("external_userid", "external_userid and sender cannot both be empty")
    if not request.text and not request.attachments:
        raise _bad("text", "text and attachments cannot both be empty")
    return request


def _owner_of(customer: Customer, sender: str) -> str | None:
    """Who gets the task for this customer.

    WeCom gives it to "the member who last chatted with the customer" [D:92135]. The sandbox keeps no chat
    history, so it stands in the customer's earliest relationship (their longest-standing rep) for that.
    """
    if sender:
        return sender if sender in customer.follows else None
    if not customer.follows:
        return None
    return min(customer.follows.values(), key=lambda follow: (follow.createtime, follow.userid)).userid


def _tags_match(customer: Customer, userid: str, tag_groups: list[frozenset[str]]) -> bool:
    tags = set(customer.follows[userid].tag_ids)
    return all(tags & group for group in tag_groups)


def assign_targets(corp: Corp, request: MassRequest) -> tuple[dict[str, list[Target]], list[str]]:
    """Targets per member, and the ids that cannot be sent to (fail_list)."""
    parts: dict[str, list[Target]] = {}
    failed: list[str] = []
    if request.chat_type is ChatType.GROUP:
        chat_ids = request.chat_ids or [g.chat_id for g in sorted(corp.groups.values(), key=lambda g: g.seq)]
        for chat_id in chat_ids:
            group = corp.groups.get(chat_id)
            # UNCONFIRMED: only the sender's own groups are accepted; other ids go to fail_list.
            if group is None or group.owner != request.sender:
                if request.chat_ids:
                    failed.append(chat_id)
                continue
            parts.setdefault(request.sender, []).append(Target(chat_id=chat_id))
        return parts, failed
    ids = request.external_userids or [
        c.external_userid for c in corp.customers.values() if request.sender in c.follows
    ]
    for external_userid in ids:
        customer = corp.customers.get(external_userid)
        owner = _owner_of(customer, request.sender) if customer is not None else None
        if customer is None or owner is None:
            failed.append(external_userid)
        elif _tags_match(customer, owner, request.tag_groups):
            parts.setdefault(owner, []).append(Target(external_userid=external_userid))
    return parts, failed
