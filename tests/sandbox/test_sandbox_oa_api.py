"""The Official Account API under /oa: its own tokens, and custom/send inside the customer-service windows."""

from __future__ import annotations

from typing import Any

from sandbox.config import OAConfig
from tests.sandbox.sandbox_api import Client, act, get_json, log, post_json, state

OA = OAConfig()


async def _oa_token(sandbox: Client) -> str:
    data = await get_json(
        sandbox, "/oa/cgi-bin/token", grant_type="client_credential", appid=OA.app_id, secret=OA.secret
    )
    assert set(data) == {"access_token", "expires_in"} and data["expires_in"] == 7200
    token: str = data["access_token"]
    return token


async def _send(sandbox: Client, token: str, openid: str, text: str = "您好") -> int:
    body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
    status, data = await post_json(sandbox, "/oa/cgi-bin/message/custom/send", body, access_token=token)
    assert status == 200
    code: int = data["errcode"]
    if code == 0:
        assert data == {"errcode": 0, "errmsg": "ok"}
    return code


async def _openid(sandbox: Client, nickname: str) -> str:
    follower: dict[str, Any] = next(f for f in (await state(sandbox))["oa_followers"] if f["nickname"] == nickname)
    openid: str = follower["openid"]
    return openid


async def _advance(sandbox: Client, seconds: float) -> None:
    status, _ = await post_json(sandbox, "/sandbox/clock/advance", {"seconds": seconds})
    assert status == 200


async def test_token_is_refused_when_appid_or_secret_is_wrong(sandbox: Client) -> None:
    def query(**over: str) -> dict[str, str]:
        return {"grant_type": "client_credential", "appid": OA.app_id, "secret": OA.secret, **over}

    assert (await get_json(sandbox, "/oa/cgi-bin/token", **query(appid="wx0000000000000000")))["errcode"] == 40013
    assert (await get_json(sandbox, "/oa/cgi-bin/token", **query(secret="0" * 32)))["errcode"] == 40125
    assert (await get_json(sandbox, "/oa/cgi-bin/token", **query(grant_type="password")))["errcode"] == 40002
    # The WeCom app's token is not an OA token, and the qyapi middleware's hints are not the OA's errmsg.
    wecom = await get_json(sandbox, "/cgi-bin/gettoken", corpid="ww5a1f0c9e2b7d4a31", corpsecret=OA.secret)
    assert wecom["errcode"] == 40001
    openid = await _openid(sandbox, "老周")
    status, data = await post_json(sandbox, "/oa/cgi-bin/message/custom/send", {"touser": openid}, access_token="nope")
    assert (status, data["errcode"]) == (200, 40001) and "rid:" in data["errmsg"]


async def test_send_window_allows_three_in_a_minute_when_follower_just_followed(sandbox: Client) -> None:
    token = await _oa_token(sandbox)
    openid = (await act(sandbox, "oa-follow", nickname="新关注"))["message"]["openid"]
    assert [await _send(sandbox, token, openid) for _ in range(4)] == [0, 0, 0, 45047]
    await act(sandbox, "oa-menu-click", openid=openid, key="K1")
    assert await _send(sandbox, token, openid) == 0
    await _advance(sandbox, 61)
    assert await _send(sandbox, token, openid) == 45015


async def test_send_window_allows_five_in_48_hours_when_follower_sent_a_message(sandbox: Client) -> None:
    token = await _oa_token(sandbox)
    openid = await _openid(sandbox, "路人甲")
    assert await _send(sandbox, token, openid) == 45015  # seeded followers have no open window
    await act(sandbox, "oa-say", openid=openid, text="你好")
    await _advance(sandbox, 47 * 3600)
    token = await _oa_token(sandbox)  # the OA token lives 2 h
    assert [await _send(sandbox, token, openid) for _ in range(6)] == [0, 0, 0, 0, 0, 45047]
    await act(sandbox, "oa-say", openid=openid, text="还有问题")
    assert await _send(sandbox, token, openid) == 0
    await _advance(sandbox, 48 * 3600)
    assert await _send(sandbox, await _oa_token(sandbox), openid) == 45015


async def test_send_is_refused_when_follower_unsubscribed_or_openid_is_unknown(sandbox: Client) -> None:
    token = await _oa_token(sandbox)
    openid = await _openid(sandbox, "王姐(宝妈)")
    await act(sandbox, "oa-say", openid=openid, text="在吗")
    await act(sandbox, "oa-unfollow", openid=openid)
    assert await _send(sandbox, token, openid) == 43004
    assert await _send(sandbox, token, "o" + "x" * 27) == 40003


async def test_every_send_is_logged_when_accepted_or_rejected(sandbox: Client) -> None:
    token = await _oa_token(sandbox)
    openid = await _openid(sandbox, "老周")
    await act(sandbox, "oa-say", openid=openid, text="想了解课程")
    menu = {
        "touser": openid,
        "msgtype": "msgmenu",
        "msgmenu": {"head_content": "请评价", "list": [{"id": "1", "content": "满意"}], "tail_content": "谢谢"},
    }
    status, data = await post_json(sandbox, "/oa/cgi-bin/message/custom/send", menu, access_token=token)
    assert (status, data["errcode"]) == (200, 0)
    bad = {"touser": openid, "msgtype": "news", "news": {}}
    _, refused = await post_json(sandbox, "/oa/cgi-bin/message/custom/send", bad, access_token=token)
    assert refused["errcode"] == 40008
    sends = [e for e in await log(sandbox) if e["kind"].startswith("oa_send")]
    assert [(e["kind"], e["errcode"], e["msgtype"]) for e in sends] == [
        ("oa_send", 0, "msgmenu"),
        ("oa_send_rejected", 40008, "news"),
    ]
    assert sends[0]["payload"] == menu and sends[0]["touser"] == openid
    lines = (await get_json(sandbox, "/sandbox/oa/messages"))["messages"]
    mine = [(m["direction"], m["content"]) for m in lines if m["openid"] == openid]
    assert mine == [("in", "想了解课程"), ("out", "请评价\n[1] 满意\n谢谢")]
