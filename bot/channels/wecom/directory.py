"""ContactDirectory over qyapi: externalcontact/get, groupchat/list|get and user/get as platform-free data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from bot.channels.wecom.client import ErrorClass, JsonObject, WeComApiError, WeComClient, WeComUnavailable
from services.directory import (
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
        contact = data.get("external_contact") or {}
        return ExternalContactInfo(
            external_userid=str(contact.get("external_userid", external_userid)),
            name=str(contact.get("name", "")),
            avatar=str(contact.get("avatar", "")),
            corp_name=str(contact.get("corp_name", "")),
            contact_type=int(contact.get("type", 1)),
            gender=int(contact.get("gender", 0)),
            unionid=str(contact.get("unionid", "")),
            follows=tuple(_follow(f) for f in follows),
        )

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
