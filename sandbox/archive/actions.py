"""Archived chat actions: a customer, rep or robot speaks in a customer group or a 1:1 chat, recalls, or an admin
injects odd items for the bot's failure paths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sandbox.archive.messages import (
    EXTERNAL_SUFFIX,
    Envelope,
    MediaSpec,
    MsgIds,
    media_body,
    message,
    revoke_body,
    text_body,
)
from sandbox.archive.store import ArchivedMessage, ChatArchive, Fault, room_chat, single_chat
from sandbox.model import ActionError, Corp
from sandbox.wire import Json

# WeChat lets a sender recall within 2 minutes. UNCONFIRMED for WeCom members (some clients allow longer); the
# sandbox applies 2 minutes to everyone, the stricter reading.
RECALL_WINDOW_MS: Final = 2 * 60 * 1000
TEXT_MAX: Final = 4000
ROBOT_PREFIX: Final = "wb"
MSGTYPE_MAX: Final = 64


@dataclass(frozen=True, slots=True)
class ChatWorld:
    corp: Corp
    archive: ChatArchive
    msgids: MsgIds


@dataclass(frozen=True, slots=True)
class Speaker:
    """Exactly one of a customer (external_userid) or a member (userid)."""

    customer: str | None = None
    member: str | None = None


def check_text(text: str) -> str:
    if not text.strip():
        raise ActionError(400, "empty_text", "消息内容不能为空", "the text is empty")
    if len(text) > TEXT_MAX:
        raise ActionError(
            400, "too_long", f"消息最多 {TEXT_MAX} 个字符", f"the text is limited to {TEXT_MAX} characters"
        )
    return text


def group_envelope(corp: Corp, chat_id: str, sender: str) -> Envelope:
    """In a group, tolist is everyone else in the room, as in archived group messages."""
    group = corp.group(chat_id)
    if sender not in group.members:
        raise ActionError(
            409,
            "not_in_group",
            f"{corp.display_name(sender)} 不在客户群「{group.name}」里，不能在群里发言",
            f"{sender} is not a member of group {chat_id}",
        )
    tolist = tuple(userid for userid in group.members if userid != sender)
    return Envelope(sender, tolist, chat_id, room_chat(chat_id), external=sender in corp.customers)


def single_envelope(corp: Corp, userid: str, external_userid: str, customer_speaks: bool) -> Envelope:
    """A 1:1 chat needs a contact relationship; roomid is empty (WECOM.md §2c)."""
    customer = corp.customer(external_userid)
    member = corp.member(userid)
    if userid not in customer.follows:
        raise ActionError(
            409,
            "not_a_contact",
            f"客户 {customer.name} 与 {member.name}（{userid}）不是好友，不能单聊",
            f"customer {external_userid} and {userid} have no contact relationship",
        )
    sender, receiver = (external_userid, userid) if customer_speaks else (userid, external_userid)
    return Envelope(sender, (receiver,), "", single_chat(userid, external_userid), external=customer_speaks)


def envelope_for(corp: Corp, speaker: Speaker, target: str) -> Envelope:
    """A customer speaks in a group or to a rep; a member speaks in a group or to a customer they have."""
    if (speaker.customer is None) == (speaker.member is None):
        raise ActionError(
            400, "bad_speaker", "请指定发言人：客户（as）或成员（member）二选一", "give exactly one of as or member"
        )
    if speaker.customer is not None:
        corp.customer(speaker.customer)
        if target in corp.groups:
            return group_envelope(corp, target, speaker.customer)
        if target in corp.members:
            return single_envelope(corp, target, speaker.customer, customer_speaks=True)
        raise ActionError(
            404, "unknown_target", f"未找到客户群或成员 {target}", f"no customer group or member {target}"
        )
    member = corp.member(speaker.member or "").userid
    if target in corp.groups:
        return group_envelope(corp, target, member)
    if target in corp.customers:
        return single_envelope(corp, member, target, customer_speaks=False)
    raise ActionError(404, "unknown_target", f"未找到客户群或客户 {target}", f"no customer group or customer {target}")


def record(
    world: ChatWorld,
    envelope: Envelope,
    msgtype: str,
    body: Json,
    action: str = "send",
    fault: Fault = Fault.NONE,
    version: int | None = None,
) -> ArchivedMessage:
    now = world.archive.now_ms()
    msgid = world.msgids.next(now // 1000, envelope.external)
    return world.archive.append(message(msgid, action, envelope, now, msgtype, body), envelope.chat, fault, version)


def say_text(world: ChatWorld, speaker: Speaker, target: str, text: str) -> ArchivedMessage:
    envelope = envelope_for(world.corp, speaker, target)
    return record(world, envelope, "text", text_body(check_text(text)))


def say_media(world: ChatWorld, speaker: Speaker, target: str, spec: MediaSpec) -> ArchivedMessage:
    envelope = envelope_for(world.corp, speaker, target)
    return record(world, envelope, spec.kind.value, media_body(spec))


def robot_say(world: ChatWorld, chat_id: str, robot: str, text: str) -> ArchivedMessage:
    """Robot senders have ids starting "wb" (WECOM.md §2c).

    Group robots work only in internal groups, so a robot in a customer group is not something WeCom shows;
    the sandbox allows it anyway so the bot's archive reader meets "wb" senders.
    """
    if not robot.startswith(ROBOT_PREFIX) or len(robot) < 3:
        raise ActionError(400, "bad_robot", "机器人 ID 应以 wb 开头", "a robot id starts with wb")
    group = world.corp.group(chat_id)
    envelope = Envelope(robot, tuple(group.members), chat_id, room_chat(chat_id), external=False)
    return record(world, envelope, "text", text_body(check_text(text)))


def recall(world: ChatWorld, msgid: str) -> ArchivedMessage:
    """The sender withdraws a message: a new item with action "recall" and msgtype "revoke"."""
    original = world.archive.find(msgid)
    if original is None:
        raise ActionError(404, "unknown_msgid", f"未找到消息 {msgid}", f"no archived message {msgid}")
    plain = original.plain
    if original.fault is not Fault.NONE or plain.get("action") != "send":
        raise ActionError(409, "cannot_recall", "这条记录不能撤回", "only a sent message can be recalled")
    if world.archive.is_recalled(msgid):
        raise ActionError(409, "already_recalled", "消息已经撤回", "the message was already recalled")
    if world.archive.now_ms() - original.msgtime_ms > RECALL_WINDOW_MS:
        raise ActionError(409, "recall_too_late", "超过 2 分钟的消息不能撤回", "messages older than 2 minutes stay")
    tolist = plain.get("tolist")
    envelope = Envelope(
        str(plain.get("from", "")),
        tuple(str(item) for item in tolist) if isinstance(tolist, list) else (),
        str(plain.get("roomid", "")),
        original.chat,
        external=msgid.endswith(EXTERNAL_SUFFIX),
    )
    return record(world, envelope, "revoke", revoke_body(msgid), action="recall")


def default_envelope(world: ChatWorld, speaker: Speaker, target: str | None) -> Envelope:
    """For injections: the given speaker and chat, or the first group's owner speaking in it."""
    if target:
        return envelope_for(world.corp, speaker, target)
    group = next(iter(world.corp.groups.values()), None)
    if group is None:
        raise ActionError(409, "no_group", "没有客户群可以注入消息", "there is no customer group to inject into")
    return group_envelope(world.corp, group.chat_id, group.owner)


def inject_custom(
    world: ChatWorld, msgtype: str, content: Json, envelope: Envelope, action: str = "send"
) -> ArchivedMessage:
    """Any msgtype with any JSON body under it, for the bot's unknown-type path."""
    if not msgtype.strip() or len(msgtype) > MSGTYPE_MAX:
        raise ActionError(
            400, "bad_msgtype", f"msgtype 应为 1 到 {MSGTYPE_MAX} 个字符", "msgtype must be 1-64 characters"
        )
    return record(world, envelope, msgtype, content, action=action)


def inject_raw(world: ChatWorld, plain: Json) -> ArchivedMessage:
    """A whole decrypted JSON as given (e.g. an action "switch" item, which has no common head); msgid is added."""
    body = dict(plain)
    msgid = body.get("msgid")
    if msgid is None:
        now = world.archive.now_ms()
        body = {"msgid": world.msgids.next(now // 1000, external=False), **body}
    elif not isinstance(msgid, str) or world.archive.find(msgid) is not None:
        raise ActionError(409, "bad_msgid", "msgid 应为未使用过的字符串", "msgid must be an unused string")
    return world.archive.append(body, "other")


def inject_broken(world: ChatWorld, envelope: Envelope, fault: Fault, version: int | None = None) -> ArchivedMessage:
    """A text message whose item cannot be read: bad ciphertext, bad wrapped key, or a key version nobody has."""
    text = {Fault.CORRUPT_MSG: "（密文损坏的消息）", Fault.CORRUPT_KEY: "（密钥损坏的消息）"}.get(
        fault, "（未知公钥版本的消息）"
    )
    return record(world, envelope, "text", text_body(text), fault=fault, version=version)
