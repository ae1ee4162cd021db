"""The Official Account's user/info under /oa: a follower's unionid (shared with the corp customer they are), the short
answer for one who left, 40003 for an unknown openid, the OA's token errors; and wechatpy's OA client reads it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from sandbox.config import OAConfig
from tests.sandbox.sandbox_api import Client, act, get_json, state

OA = OAConfig()
PATH = "/oa/cgi-bin/user/info"


async def _token(sandbox: Client) -> str:
    query = {"grant_type": "client_credential", "appid": OA.app_id, "secret": OA.secret}
    token: str = (await get_json(sandbox, "/oa/cgi-bin/token", **query))["access_token"]
    return token


async def _follower(sandbox: Client, nickname: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in (await state(sandbox))["oa_followers"] if f["nickname"] == nickname)
    return found


async def test_user_info_carries_the_customers_unionid_when_follower_is_a_corp_customer(sandbox: Client) -> None:
    token = await _token(sandbox)
    follower = await _follower(sandbox, "王姐(宝妈)")
    customer = next(c for c in (await state(sandbox))["customers"] if c["external_userid"] == follower["customer"])
    info = await get_json(sandbox, PATH, access_token=token, openid=follower["openid"], lang="zh_CN")
    assert info["subscribe"] == 1 and info["openid"] == follower["openid"]
    assert info["unionid"] == customer["unionid"] == follower["unionid"]
    assert "errcode" not in info and info["subscribe_time"] == follower["subscribe_time"]
    # Since 2021-12-27 WeChat no longer gives the nickname or avatar here.
    assert info["nickname"] == "" and info["headimgurl"] == "" and info["tagid_list"] == []


async def test_user_info_has_no_unionid_when_follower_has_none(sandbox: Client) -> None:
    token = await _token(sandbox)
    follower = await _follower(sandbox, "匿名访客")
    info = await get_json(sandbox, PATH, access_token=token, openid=follower["openid"])
    assert info["subscribe"] == 1 and "unionid" not in info and info["language"] == "zh_CN"


async def test_user_info_is_short_when_follower_unsubscribed(sandbox: Client) -> None:
    token = await _token(sandbox)
    follower = await _follower(sandbox, "老周")
    await act(sandbox, "oa-unfollow", openid=follower["openid"])
    info = await get_json(sandbox, PATH, access_token=token, openid=follower["openid"])
    assert info == {"subscribe": 0, "openid": follower["openid"], "unionid": follower["unionid"]}


async def test_user_info_is_refused_when_openid_is_unknown_or_token_is_bad(sandbox: Client) -> None:
    token = await _token(sandbox)
    openid = (await _follower(sandbox, "路人甲"))["openid"]
    assert (await get_json(sandbox, PATH, access_token=token, openid="o" + "x" * 27))["errcode"] == 40003
    assert (await get_json(sandbox, PATH, access_token=token))["errcode"] == 40003
    refused = await get_json(sandbox, PATH, access_token="nope", openid=openid)
    assert refused["errcode"] == 40001 and "rid:" in refused["errmsg"]
    assert (await get_json(sandbox, PATH, openid=openid))["errcode"] == 41001


class SandboxOAClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's Official Account client with the sandbox's /oa as its base URL."""

    def __init__(self, base_url: str) -> None:
        super().__init__(OA.app_id, OA.secret)
        self.API_BASE_URL = f"{base_url}/oa/cgi-bin/"

    def fetch_access_token(self) -> Any:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        return self._fetch_access_token(url=f"{self.API_BASE_URL}token", params=params)


async def test_wechatpy_user_get_reads_the_unionid_when_pointed_at_the_sandbox(sandbox: Client) -> None:
    follower = await _follower(sandbox, "小鹿乱撞🦌")
    base = str(sandbox.make_url("")).rstrip("/")

    def read() -> tuple[dict[str, Any], int]:
        client = SandboxOAClient(base)
        info: dict[str, Any] = client.user.get(follower["openid"])
        with pytest.raises(WeChatClientException) as unknown:
            client.user.get("o" + "x" * 27)
        return info, int(unknown.value.errcode)

    info, unknown_code = await asyncio.to_thread(read)
    assert info["unionid"] == follower["unionid"] and info["subscribe"] == 1
    assert unknown_code == 40003
