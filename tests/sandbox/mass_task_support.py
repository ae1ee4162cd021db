"""The demo corp seen through WeCom's mass-task API, shared by the sandbox's mass-task tests."""

from __future__ import annotations

from typing import Any

from pytest_aiohttp import AiohttpClient

from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, customer_named, group_named, post_json, state, token
from tests.sandbox.send_api import api, fixed_sandbox

EC = "/cgi-bin/externalcontact/"


class Corp:
    """The demo corp's ids by nickname, and qyapi calls with a token."""

    def __init__(self, client: Client, access_token: str, data: dict[str, Any]) -> None:
        self.client = client
        self.access_token = access_token
        self._data = data

    def customer(self, name: str) -> str:
        external_userid: str = customer_named(self._data, name)["external_userid"]
        return external_userid

    def group(self, name: str) -> str:
        chat_id: str = group_named(self._data, name)["chat_id"]
        return chat_id

    async def call(self, name: str, **body: Any) -> dict[str, Any]:
        return await api(self.client, EC + name, self.access_token, body)

    async def create(self, *names: str, **body: Any) -> dict[str, Any]:
        ids = [self.customer(name) for name in names]
        return await self.call("add_msg_template", external_userid=ids, **{"text": {"content": "新品上市"}, **body})

    async def confirm(self, msgid: str, member: str) -> tuple[int, dict[str, Any]]:
        return await post_json(self.client, "/sandbox/act/confirm-task", {"msgid": msgid, "member": member})

    async def results(self, msgid: str, userid: str, **body: Any) -> list[dict[str, Any]]:
        data = await self.call("get_groupmsg_send_result", msgid=msgid, userid=userid, **body)
        assert data["errcode"] == 0, data
        send_list: list[dict[str, Any]] = data["send_list"]
        return send_list


async def make_corp(aiohttp_client: AiohttpClient, receiver: Receiver, **overrides: Any) -> Corp:
    client = await fixed_sandbox(aiohttp_client, receiver, **overrides)
    return Corp(client, await token(client), await state(client))
