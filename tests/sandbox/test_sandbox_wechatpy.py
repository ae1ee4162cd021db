"""A real third-party client against the sandbox: wechatpy's WeChatClient calls the APIs the bot uses, and every
callback the sandbox sends is checked by wechatpy's WeChatCrypto (signature and decryption) and parser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import xmltodict
from aiohttp import web
from pytest_aiohttp import AiohttpServer
from wechatpy.exceptions import WeChatClientException
from wechatpy.work import WeChatClient, parse_message
from wechatpy.work.crypto import WeChatCrypto

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from tests.sandbox.sandbox_api import FAST

DEMO = SandboxConfig()


class SandboxClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with the sandbox as its base URL (its gettoken URL is hard-coded, so that one too)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(DEMO.corp_id, DEMO.secret)
        self.API_BASE_URL = f"{base_url}/cgi-bin/"

    def fetch_access_token(self) -> Any:
        params = {"corpid": self.corp_id, "corpsecret": self.secret}
        return self._fetch_access_token(url=f"{self.API_BASE_URL}gettoken", params=params)


@dataclass
class WechatpyReceiver:
    """Every POST must pass wechatpy's signature check and decrypt; `failures` keeps what did not."""

    crypto: WeChatCrypto = field(default_factory=lambda: WeChatCrypto(DEMO.token, DEMO.aes_key, DEMO.corp_id))
    received: list[tuple[dict[str, Any], dict[str, Any], Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    async def on_post(self, request: web.Request) -> web.Response:
        raw, query = await request.text(), request.query
        try:
            plain = self.crypto.decrypt_message(raw, query["msg_signature"], query["timestamp"], query["nonce"])
        except Exception as error:  # anything wechatpy refuses is a fidelity bug
            self.failures.append(f"{type(error).__name__}: {error}")
            return web.Response(status=400)
        envelope, event = xmltodict.parse(raw)["xml"], xmltodict.parse(plain)["xml"]
        self.received.append((envelope, event, parse_message(plain)))
        return web.Response(text="success")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/wecom/callback", self.on_post)
        return app

    def wait_for(self, match: Callable[[dict[str, Any]], bool], within_s: float = 10.0) -> dict[str, Any]:
        """Poll (from the client's thread) until a matching event arrived."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            for _, event, _ in list(self.received):
                if match(event):
                    return event
            time.sleep(0.02)
        raise AssertionError("no matching callback arrived")


def _act(base: str, action: str, **body: Any) -> dict[str, Any]:
    response = requests.post(f"{base}/sandbox/act/{action}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _state(base: str) -> dict[str, Any]:
    response = requests.get(f"{base}/sandbox/state", timeout=10)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _errcode(call: Callable[[], object]) -> int:
    with pytest.raises(WeChatClientException) as caught:
        call()
    code: int = caught.value.errcode
    return code


def _contacts_and_groups(client: SandboxClient) -> None:
    assert client.user.get("zhangsan")["name"] == "张三"
    assert client.user.get("ZhangSan")["userid"] == "zhangsan"
    customers = client.external_contact.list("zhangsan")["external_userid"]
    detail = client.external_contact.get(customers[0])
    assert detail["external_contact"]["external_userid"] == customers[0]
    assert "zhangsan" in [f["userid"] for f in detail["follow_user"]]
    groups = client.external_contact.get_group_chat_list(limit=100)["group_chat_list"]
    assert len(groups) == 3
    chat = client.external_contact.get_group_chat_info(groups[0]["chat_id"])["group_chat"]
    assert chat["member_list"] and chat["member_version"]
    assert client.external_contact.get_follow_user_list()["follow_user"] == ["zhangsan", "lisi", "wangwu", "zhaoliu"]
    sent = client.message.send_text(DEMO.agent_id, "zhangsan", "客户在群里提问了")
    assert (sent["errcode"], sent["invaliduser"]) == (0, "")
    assert _errcode(lambda: client.get("externalcontact/no_such_api")) == 48001


def _tags_and_welcome(client: SandboxClient, base: str, receiver: WechatpyReceiver, candy: str) -> None:
    tag_groups = client.external_contact.get_corp_tag_list()["tag_group"]
    vip = next(t["id"] for g in tag_groups for t in g["tag"] if t["name"] == "VIP")
    _act(base, "add-contact", customer=candy, member="lisi", state="wechatpy")
    added = receiver.wait_for(lambda e: e.get("ChangeType") == "add_external_contact")
    assert added["State"] == "wechatpy"
    welcome = {"welcome_code": added["WelcomeCode"], "text": {"content": "欢迎加入"}}
    assert client.external_contact.send_welcome_msg(welcome)["errcode"] == 0
    assert client.external_contact.mark_tag(userid="lisi", external_userid=candy, add_tag=[vip])["errcode"] == 0
    state = _state(base)
    customer = next(c for c in state["customers"] if c["external_userid"] == candy)
    follow = next(f for f in customer["follows"] if f["userid"] == "lisi")
    assert "VIP" in [t["tag_name"] for t in follow["tags"]]  # applied, with no callback (WECOM.md §2b)


def _kf(client: SandboxClient, base: str, receiver: WechatpyReceiver, candy: str) -> None:
    accounts = client.post("kf/account/list", data={"offset": 0, "limit": 100})["account_list"]
    open_kfid = accounts[0]["open_kfid"]
    _act(base, "kf-say", customer=candy, text="在吗？", open_kfid=open_kfid)
    token = receiver.wait_for(lambda e: e.get("Event") == "kf_msg_or_event")["Token"]
    # wechatpy 2.0's sync_msg sends no open_kfid, which WeCom now requires (WECOM.md §2d).
    assert _errcode(lambda: client.kf.sync_msg(token)) == 40058
    page = client.post("kf/sync_msg", data={"token": token, "cursor": "", "limit": 1000, "open_kfid": open_kfid})
    [item] = page["msg_list"]
    assert (item["external_userid"], item["text"]["content"]) == (candy, "在吗？")
    assert client.kf_message.send_text(candy, open_kfid, "您好，请问有什么可以帮您", msgid="wechatpy-1")["errcode"] == 0
    repeat = _errcode(lambda: client.kf_message.send_text(candy, open_kfid, "您好", msgid="wechatpy-1"))
    assert repeat == 95020


async def test_wechatpy_client_drives_the_apis_the_bot_calls_when_pointed_at_the_sandbox(
    aiohttp_server: AiohttpServer,
) -> None:
    receiver = WechatpyReceiver()
    receiver_server = await aiohttp_server(receiver.app())
    config = SandboxConfig(**{**FAST, "callback_url": str(receiver_server.make_url("/wecom/callback"))})
    sandbox_server = await aiohttp_server(create_app(config))
    base = str(sandbox_server.make_url("")).rstrip("/")
    client = SandboxClient(base)

    def drive() -> None:
        customers = requests.get(f"{base}/sandbox/state", timeout=10).json()["customers"]
        candy = next(c["external_userid"] for c in customers if c["name"] == "糖糖🍬")
        _contacts_and_groups(client)
        _tags_and_welcome(client, base, receiver, candy)
        _kf(client, base, receiver, candy)
        _act(base, "member-app-say", member="wangwu", text="认领 T1")
        receiver.wait_for(lambda e: e.get("MsgType") == "text")

    # wechatpy is synchronous (requests): it runs in a thread while this loop serves the sandbox and the receiver.
    await asyncio.to_thread(drive)
    assert receiver.failures == []
    kinds = {(event.get("Event") or event.get("MsgType")): envelope for envelope, event, _ in receiver.received}
    assert set(kinds) >= {"change_external_contact", "kf_msg_or_event", "text"}
    # AgentID only on app callbacks (WECOM.md §1.5).
    assert "AgentID" not in kinds["change_external_contact"] and "AgentID" not in kinds["kf_msg_or_event"]
    assert kinds["text"]["AgentID"] == str(DEMO.agent_id)
    assert all(parsed is not None for _, _, parsed in receiver.received)
