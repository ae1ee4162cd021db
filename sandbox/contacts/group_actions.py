"""Client-side customer-group actions: join, leave or removal, create, dismiss and rename."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sandbox.contacts.actions import ActionResult
from sandbox.events import CallbackEvent, CallbackJoinScene, QuitScene, UpdateDetail, chat_event, chat_update_event
from sandbox.ids import IdFactory
from sandbox.model import GROUP_CAPACITY, ActionError, Corp, Group, GroupMember, GroupMemberType, JoinScene
from sandbox.wire import group_state_json

GROUP_NAME_MAX: Final = 64

# The simulator's scene names -> (groupchat/get join_scene, callback JoinScene).
SCENES: Final = {
    "qr": (JoinScene.QR_CODE, CallbackJoinScene.QR_CODE),
    "invite": (JoinScene.DIRECT_INVITE, CallbackJoinScene.INVITED),
    "link": (JoinScene.INVITE_LINK, CallbackJoinScene.INVITED),
}


def _group_result(corp: Corp, group: Group, *events: CallbackEvent) -> ActionResult:
    return ActionResult("group", group_state_json(corp, group), events)


def _bump_version(ids: IdFactory, group: Group) -> tuple[str, str]:
    """Every membership change gets a new member_version, which the callback carries as CurMemVer."""
    last, group.member_version = group.member_version, ids.member_version()
    return last, group.member_version


def _invitor(corp: Corp, group: Group, scene: str, invitor: str | None) -> str:
    if scene == "qr":
        if invitor:
            raise ActionError(400, "qr_has_no_invitor", "扫码入群没有邀请人", "a QR-code join has no invitor")
        return ""
    who = invitor or group.owner
    corp.member(who)
    if who not in group.members:
        raise ActionError(409, "invitor_not_in_group", f"邀请人 {who} 不在群里", f"invitor {who} is not in the group")
    return who


def join_group(
    corp: Corp, ids: IdFactory, now: int, external_userid: str, chat_id: str, scene: str, invitor: str | None
) -> ActionResult:
    customer = corp.customer(external_userid)
    group = corp.group(chat_id)
    if scene not in SCENES:
        raise ActionError(400, "bad_scene", "入群方式只能是 qr、invite 或 link", "scene must be qr, invite or link")
    if external_userid in group.members:
        raise ActionError(409, "already_in_group", f"{customer.name} 已在群里", f"{external_userid} is already in it")
    if len(group.members) >= GROUP_CAPACITY:
        raise ActionError(409, "group_full", "群成员已满 500 人", "the group is full (500)")
    who = _invitor(corp, group, scene, invitor)
    join_scene, callback_scene = SCENES[scene]
    group.members[external_userid] = GroupMember(external_userid, GroupMemberType.EXTERNAL, now, join_scene, who)
    event = chat_update_event(
        now,
        chat_id,
        UpdateDetail.ADD_MEMBER,
        ("JoinScene", int(callback_scene)),
        [external_userid],
        _bump_version(ids, group),
    )
    return _group_result(corp, group, event)


def leave_group(
    corp: Corp, ids: IdFactory, now: int, external_userid: str, chat_id: str, removed: bool
) -> ActionResult:
    """The customer leaves (QuitScene 0) or the owner or an admin removes them (QuitScene 1)."""
    customer = corp.customer(external_userid)
    group = corp.group(chat_id)
    if external_userid not in group.members:
        raise ActionError(409, "not_in_group", f"{customer.name} 不在群里", f"{external_userid} is not in the group")
    del group.members[external_userid]
    quit_scene = QuitScene.REMOVED if removed else QuitScene.LEFT
    event = chat_update_event(
        now,
        chat_id,
        UpdateDetail.DEL_MEMBER,
        ("QuitScene", int(quit_scene)),
        [external_userid],
        _bump_version(ids, group),
    )
    return _group_result(corp, group, event)


def create_group(
    corp: Corp, ids: IdFactory, now: int, owner: str, name: str, members: Sequence[str] = (), notice: str = ""
) -> ActionResult:
    """A rep creates a customer group.

    UNCONFIRMED whether WeCom also pushes add_member for the people picked at creation; the sandbox sends only
    `create`, the stricter reading, so the bot has to read groupchat/get to learn who is in it.
    """
    corp.member(owner)
    name = _group_name(name)
    picked = [userid for userid in dict.fromkeys(members) if userid != owner]
    for userid in picked:
        if userid not in corp.members:
            corp.customer(userid)
    group = Group(ids.chat_id(), name, owner, now, ids.member_version(), corp.take_group_seq(), notice)
    group.members[owner] = GroupMember(owner, GroupMemberType.MEMBER, now, JoinScene.DIRECT_INVITE)
    for userid in picked:
        kind = GroupMemberType.MEMBER if userid in corp.members else GroupMemberType.EXTERNAL
        group.members[userid] = GroupMember(userid, kind, now, JoinScene.DIRECT_INVITE, owner)
    corp.groups[group.chat_id] = group
    return _group_result(corp, group, chat_event("create", now, group.chat_id))


def dismiss_group(corp: Corp, now: int, chat_id: str) -> ActionResult:
    """The owner dismisses the group; groupchat/get answers 90501 from then on."""
    group = corp.group(chat_id)
    del corp.groups[chat_id]
    fragment = {"chat_id": group.chat_id, "name": group.name, "dismissed": True}
    return ActionResult("group", fragment, (chat_event("dismiss", now, chat_id),))


def rename_group(corp: Corp, now: int, chat_id: str, name: str) -> ActionResult:
    group = corp.group(chat_id)
    name = _group_name(name)
    if name == group.name:
        return _group_result(corp, group)
    group.name = name
    return _group_result(corp, group, chat_update_event(now, chat_id, UpdateDetail.CHANGE_NAME))


def _group_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ActionError(400, "missing_name", "请填写群名称", "a group name is required")
    if len(name) > GROUP_NAME_MAX:
        raise ActionError(400, "too_long", f"群名称最多 {GROUP_NAME_MAX} 个字符", "the group name is too long")
    return name
