"""ContactDirectory over qyapi: externalcontact/get, groupchat/list|get and user/get as platform-free data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from bot.channels.wecom.client import ErrorClass, JsonObject, WeComApiError, WeComClient, WeComUnavailable
from services.customers.directory import (
    ContactPage,
    DirectoryUnavailable,
    ExternalContactInfo,
    FollowInfo,
    GroupChatInfo,
    GroupMemberInfo,
    MemberInfo,
    TagInfo,
)

NO_RELATIONSHIP: Final = 84061
BAD_EXTERNAL_USERID: Final = 40096
NOT_A_CUSTOMER_GROUP: Final = 90501
NO_SUCH_USER: Final = 60111
GROUP_PAGE: Final = 1000
BY_USER_LIMIT: Final = 100


def _time(value: Any) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


class WeComDirectory:
    def __init__(self, client: WeComClient) -> None:
        self._client = client

    async def get_external_contact(self, external_userid: str) -> ExternalContactInfo | None:
        follows: list[JsonObject] = []
        cursor = ""
        while True:
            params = {"external_userid": external_userid, **({"cursor": cursor} if cursor else {})}
            data = await self._read(
                self._client.get("/cgi-bin/externalcontact/get", params), NO_RELATIONSHIP, BAD_EXTERNAL_USERID
            )
            if data is None:
                return None
            follows.extend(data.get("follow_user") or [])
            cursor = str(data.get("next_cursor") or "")
            if not cursor:
                break
        return _contact(data.get("external_contact") or {}, external_userid, tuple(_follow(f) for f in follows))

    async def get_group_chat(self, chat_id: str) -> GroupChatInfo | None:
        body = {"chat_id": chat_id, "need_name": 1}
        data = await self._read(self._client.post("/cgi-bin/externalcontact/groupchat/get", body), NOT_A_CUSTOMER_GROUP)
        if data is None:
            return None
        chat = data.get("group_chat") or {}
        return GroupChatInfo(
            chat_id=str(chat.get("chat_id", chat_id)),
            name=str(chat.get("name", "")),
            owner_userid=str(chat.get("owner", "")),
            created_at=_time(chat.get("create_time")),
            notice=str(chat.get("notice", "")),
            members=tuple(_group_member(m) for m in chat.get("member_list") or []),
            member_version=str(chat.get("member_version", "")),
        )

    async def get_member(self, userid: str) -> MemberInfo | None:
        data = await self._read(self._client.get("/cgi-bin/user/get", {"userid": userid}), NO_SUCH_USER)
        if data is None:
            return None
        return MemberInfo(userid=userid, name=str(data.get("name", "")), position=str(data.get("position", "")))

    async def list_group_chat_ids(self) -> list[str]:
        ids: list[str] = []
        cursor = ""
        while True:
            body: JsonObject = {
                "status_filter": 0,
                "limit": GROUP_PAGE,
                **({"cursor": cursor} if cursor else {}),
            }
            data = await self._read(self._client.post("/cgi-bin/externalcontact/groupchat/list", body))
            assert data is not None
            ids.extend(str(g["chat_id"]) for g in data.get("group_chat_list") or [])
            cursor = str(data.get("next_cursor") or "")
            if not cursor:
                return ids

    async def list_follow_userids(self) -> list[str]:
        data = await self._read(self._client.get("/cgi-bin/externalcontact/get_follow_user_list", {}))
        assert data is not None
        return [str(u) for u in data.get("follow_user") or [] if u]

    async def contacts_of_members(self, userids: list[str], cursor: str, limit: int = BY_USER_LIMIT) -> ContactPage:
        body: JsonObject = {"userid_list": userids, "limit": min(limit, BY_USER_LIMIT), "cursor": cursor}
        data = await self._read(self._client.post("/cgi-bin/externalcontact/batch/get_by_user", body))
        assert data is not None
        contacts = tuple(
            _contact(item.get("external_contact") or {}, "", (_follow_info(item.get("follow_info") or {}),))
            for item in data.get("external_contact_list") or []
            if isinstance(item, dict)
        )
        return ContactPage(tuple(c for c in contacts if c.external_userid), str(data.get("next_cursor") or ""))

    async def corp_tags(self) -> dict[str, TagInfo]:
        data = await self._read(self._client.post("/cgi-bin/externalcontact/get_corp_tag_list", {}))
        assert data is not None
        return {
            str(tag["id"]): TagInfo(
                tag_id=str(tag["id"]), name=str(tag.get("name", "")), group_name=str(group.get("group_name", ""))
            )
            for group in data.get("tag_group") or []
            for tag in group.get("tag") or []
            if tag.get("id") and not tag.get("deleted")
        }

    @staticmethod
    async def _read(call: Any, *absent: int) -> JsonObject | None:
        """Await a client call; `absent` errcodes mean "does not exist" (None); outages become retryable."""
        try:
            result: JsonObject = await call
            return result
        except WeComApiError as exc:
            if exc.errcode in absent:
                return None
            if exc.error_class is not ErrorClass.PERMANENT:  # still busy or limited after the client's retries
                raise DirectoryUnavailable(str(exc)) from exc
            raise
        except WeComUnavailable as exc:
            raise DirectoryUnavailable(str(exc)) from exc


def _contact(raw: JsonObject, external_userid: str, follows: tuple[FollowInfo, ...]) -> ExternalContactInfo:
    return ExternalContactInfo(
        external_userid=str(raw.get("external_userid", external_userid)),
        name=str(raw.get("name", "")),
        avatar=str(raw.get("avatar", "")),
        corp_name=str(raw.get("corp_name", "")),
        contact_type=int(raw.get("type", 1)),
        gender=int(raw.get("gender", 0)),
        unionid=str(raw.get("unionid", "")),
        follows=follows,
    )


def _follow_info(raw: JsonObject) -> FollowInfo:
    """batch/get_by_user's follow_info: tag ids only; the importer names them from the corp tag list."""
    ids = [str(t) for t in raw.get("tag_id") or [] if t]
    return FollowInfo(
        userid=str(raw.get("userid", "")),
        remark=str(raw.get("remark", "")),
        description=str(raw.get("description", "")),
        added_at=_time(raw.get("createtime")),
        tags=tuple(TagInfo(tag_id=t, name="", group_name="") for t in ids),
        add_way=int(raw.get("add_way", 0) or 0),
        state=str(raw.get("state", "")),
    )


def _follow(raw: JsonObject) -> FollowInfo:
    return FollowInfo(
        userid=str(raw.get("userid", "")),
        remark=str(raw.get("remark", "")),
        description=str(raw.get("description", "")),
        added_at=_time(raw.get("createtime")),
        tags=tuple(_tag(t) for t in raw.get("tags") or [] if t.get("tag_id") or t.get("tag_name")),
        add_way=int(raw.get("add_way", 0) or 0),
        state=str(raw.get("state", "")),
    )


def _group_member(raw: JsonObject) -> GroupMemberInfo:
    return GroupMemberInfo(
        member_id=str(raw.get("userid", "")),
        member_type=int(raw.get("type", 1)),
        name=str(raw.get("name", "")),
        group_nickname=str(raw.get("group_nickname", "")),
        unionid=str(raw.get("unionid", "")),
        join_time=_time(raw.get("join_time")),
        join_scene=int(raw.get("join_scene", 0) or 0),
        invitor_userid=str((raw.get("invitor") or {}).get("userid", "")),
    )


def _tag(raw: JsonObject) -> TagInfo:
    # Personal tags (type 2) carry no tag_id; their name is their identity within one member's list.
    name = str(raw.get("tag_name", ""))
    return TagInfo(
        tag_id=str(raw.get("tag_id") or f"personal:{name}"),
        name=name,
        group_name=str(raw.get("group_name", "")),
    )
