"""客户联系 callback events (WECOM.md §2b) and their plaintext and envelope XML."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final

FieldValue = str | int | tuple[str, ...]

CONTACT_EVENT: Final = "change_external_contact"
CHAT_EVENT: Final = "change_external_chat"


class CallbackJoinScene(IntEnum):
    """The callback's JoinScene: 0 invited by a member (directly or by link), 3 scanned the group QR."""

    INVITED = 0
    QR_CODE = 3


class QuitScene(IntEnum):
    LEFT = 0
    REMOVED = 1


class UpdateDetail(StrEnum):
    ADD_MEMBER = "add_member"
    DEL_MEMBER = "del_member"
    CHANGE_NAME = "change_name"


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """One event as WeCom would push it; `fields` keep WeCom's element order after ChangeType.

    Customer-contact events carry a ChangeType and come from "sys"; `kf_msg_or_event` has neither (its sample in
    WECOM.md §2d has no FromUserName), so both are optional and left out when empty.
    """

    event: str
    change_type: str
    create_time: int
    fields: tuple[tuple[str, FieldValue], ...]
    # Only customer-contact events are held back and reordered (WECOM.md §6.3).
    may_lag: bool = True
    from_user: str = "sys"
    # The envelope carries AgentID only for app callbacks (app messages, msgaudit_notify), never for
    # customer-contact or kf events ("仅应用相关的回调", WECOM.md §1.5).
    app_callback: bool = False

    def to_xml(self, corp_id: str) -> str:
        parts = ["<xml>", _element("ToUserName", corp_id)]
        if self.from_user:
            parts.append(_element("FromUserName", self.from_user))
        parts += [
            _element("CreateTime", self.create_time),
            _element("MsgType", "event"),
            _element("Event", self.event),
        ]
        if self.change_type:
            parts.append(_element("ChangeType", self.change_type))
        parts.extend(_element(name, value) for name, value in self.fields)
        parts.append("</xml>")
        return "".join(parts)


def envelope_xml(corp_id: str, encrypted: str, agent_id: int | None) -> str:
    """The POST body: CorpID, ciphertext and, for app callbacks only, the receiving app's AgentID (WECOM.md §1.5)."""
    agent = f"<AgentID>{cdata(str(agent_id))}</AgentID>" if agent_id is not None else ""
    return f"<xml><ToUserName>{cdata(corp_id)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt>{agent}</xml>"


def cdata(text: str) -> str:
    # A literal "]]>" would end the section early, so split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(name: str, value: FieldValue) -> str:
    if isinstance(value, int):
        return f"<{name}>{value}</{name}>"
    if isinstance(value, tuple):
        items = "".join(f"<Item>{cdata(item)}</Item>" for item in value)
        return f"<{name}>{items}</{name}>"
    return f"<{name}>{cdata(value)}</{name}>"


def contact_event(
    change_type: str,
    now: int,
    userid: str,
    external_userid: str,
    extra: Sequence[tuple[str, FieldValue]] = (),
) -> CallbackEvent:
    fields: tuple[tuple[str, FieldValue], ...] = (("UserID", userid), ("ExternalUserID", external_userid))
    return CallbackEvent(CONTACT_EVENT, change_type, now, fields + tuple(extra))


def chat_event(change_type: str, now: int, chat_id: str) -> CallbackEvent:
    return CallbackEvent(CHAT_EVENT, change_type, now, (("ChatId", chat_id),))


def chat_update_event(
    now: int,
    chat_id: str,
    detail: UpdateDetail,
    scene: tuple[str, int] | None = None,
    changed: Sequence[str] = (),
    versions: tuple[str, str] | None = None,
) -> CallbackEvent:
    """`update`: JoinScene/QuitScene, the change list and the versions appear only for membership changes."""
    fields: list[tuple[str, FieldValue]] = [("ChatId", chat_id), ("UpdateDetail", detail.value)]
    if scene is not None:
        fields.append(scene)
    if changed:
        fields.append(("MemChangeCnt", len(changed)))
        fields.append(("MemChangeList", tuple(changed)))
    if versions is not None:
        fields.append(("LastMemVer", versions[0]))
        fields.append(("CurMemVer", versions[1]))
    return CallbackEvent(CHAT_EVENT, "update", now, tuple(fields))
