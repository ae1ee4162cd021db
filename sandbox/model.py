"""The simulated corp's state: members, WeChat customers with their reps, tags and customer groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

# Customer groups hold at most 500 people in today's client (older limit: 200).
GROUP_CAPACITY: Final = 500


class ContactType(IntEnum):
    WECHAT = 1
    WECOM = 2


class GroupMemberType(IntEnum):
    MEMBER = 1
    EXTERNAL = 2


class JoinScene(IntEnum):
    """groupchat/get's join_scene; the callback's JoinScene uses a different scale (see events.py)."""

    DIRECT_INVITE = 1
    INVITE_LINK = 2
    QR_CODE = 3


class ActionError(Exception):
    """A simulated action that the real client would not allow, explained in Chinese and English."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.status = status
        self.code = code
        self.message = f"{zh} / {en}"


@dataclass(slots=True)
class Member:
    userid: str
    name: str
    position: str
    department: list[int]
    gender: int
    alias: str = ""
    status: int = 1


@dataclass(frozen=True, slots=True)
class Tag:
    tag_id: str
    name: str
    group_id: str
    group_name: str
    create_time: int = 0
    # get_corp_tag_list's `order`: "值越大排序越前" (larger first); the seed numbers groups and tags downwards.
    order: int = 0
    group_order: int = 0


@dataclass(slots=True)
class WelcomeCode:
    """The WelcomeCode of an add_external_contact callback: send_welcome_msg may use it once, within 20 s."""

    code: str
    userid: str
    external_userid: str
    issued_at: int
    used: bool = False


@dataclass(slots=True)
class Follow:
    """One rep's side of a contact relationship (a `follow_user` item)."""

    userid: str
    createtime: int
    add_way: int
    oper_userid: str
    state: str = ""
    remark: str = ""
    description: str = ""
    tag_ids: list[str] = field(default_factory=list)
    remark_mobiles: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Customer:
    external_userid: str
    name: str
    gender: int
    avatar: str
    type: ContactType = ContactType.WECHAT
    unionid: str = ""
    corp_name: str = ""
    corp_full_name: str = ""
    position: str = ""
    follows: dict[str, Follow] = field(default_factory=dict)


@dataclass(slots=True)
class GroupMember:
    userid: str
    type: GroupMemberType
    join_time: int
    join_scene: JoinScene
    invitor: str = ""
    group_nickname: str = ""


@dataclass(slots=True)
class Group:
    chat_id: str
    name: str
    owner: str
    create_time: int
    member_version: str
    # Creation order, so paging cursors stay stable while groups come and go.
    seq: int
    notice: str = ""
    status: int = 0
    admins: list[str] = field(default_factory=list)
    members: dict[str, GroupMember] = field(default_factory=dict)


@dataclass(slots=True)
class Corp:
    corp_id: str
    members: dict[str, Member] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    next_group_seq: int = 1
    welcome_codes: dict[str, WelcomeCode] = field(default_factory=dict)

    def find_member(self, userid: str) -> Member | None:
        """WeCom userids match case-insensitively (message/send lists them lower-case; user/get finds either)."""
        found = self.members.get(userid)
        if found is not None or not userid:
            return found
        folded = userid.lower()
        return next((member for key, member in self.members.items() if key.lower() == folded), None)

    def member(self, userid: str) -> Member:
        found = self.find_member(userid)
        if found is None:
            raise ActionError(404, "unknown_member", f"未找到成员 {userid}", f"unknown member {userid}")
        return found

    def customer(self, external_userid: str) -> Customer:
        found = self.customers.get(external_userid)
        if found is None:
            raise ActionError(
                404,
                "unknown_customer",
                f"未找到客户 {external_userid}",
                f"unknown customer {external_userid}",
            )
        return found

    def group(self, chat_id: str) -> Group:
        found = self.groups.get(chat_id)
        if found is None:
            raise ActionError(404, "unknown_group", f"未找到客户群 {chat_id}", f"unknown customer group {chat_id}")
        return found

    def tag(self, key: str) -> Tag:
        """Find a corp tag by id or, for people typing in the simulator, by name."""
        if key in self.tags:
            return self.tags[key]
        for tag in self.tags.values():
            if tag.name == key:
                return tag
        raise ActionError(404, "unknown_tag", f"未找到企业标签 {key}", f"unknown corp tag {key}")

    def display_name(self, userid: str) -> str:
        if userid in self.members:
            return self.members[userid].name
        if userid in self.customers:
            return self.customers[userid].name
        return userid

    def take_group_seq(self) -> int:
        seq = self.next_group_seq
        self.next_group_seq += 1
        return seq
