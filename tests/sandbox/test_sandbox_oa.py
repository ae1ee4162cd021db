"""Official Account followers: seeded unionid links, signed safe-mode callbacks, retries and duplicates."""

from __future__ import annotations

from typing import Any

import pytest
import xmltodict
from pytest_aiohttp import AiohttpServer
from wechatpy.crypto import WeChatCrypto

from sandbox.config import OAConfig
from tests.sandbox.conftest import SandboxFactory
from tests.sandbox.oa_receiver import OAReceiver
from tests.sandbox.sandbox_api import Client, act, customer_named, log, post_json, settle, state

OA = OAConfig()


@pytest.fixture
async def oa_receiver(aiohttp_server: AiohttpServer) -> OAReceiver:
    recorder = OAReceiver()
    server = await aiohttp_server(recorder.app())
    recorder.url = str(server.make_url("/wechat/callback"))
    return recorder


@pytest.fixture
async def oa_sandbox(oa_receiver: OAReceiver, make_sandbox: SandboxFactory) -> Client:
    return await make_sandbox(oa=OAConfig(callback_url=oa_receiver.url))


def _follower(world: dict[str, Any], nickname: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in world["oa_followers"] if f["nickname"] == nickname)
    return found


def _attempts(entries: list[dict[str, Any]]) -> list[tuple[int, str, bool]]:
    return [(e["attempt"], e["outcome"], e["duplicate"]) for e in entries if e["kind"] == "oa_callback"]


async def test_seeded_followers_link_to_customers_by_unionid_when_sandbox_starts(sandbox: Client) -> None:
    world = await state(sandbox)
    followers = world["oa_followers"]
    assert all(f["openid"].startswith("o") and len(f["openid"]) == 28 and f["subscribed"] for f in followers)
    deer = customer_named(world, "小鹿乱撞🦌")
    assert _follower(world, "小鹿乱撞🦌")["customer"] == deer["external_userid"]
    assert _follower(world, "小鹿乱撞🦌")["unionid"] == deer["unionid"]
    # Lemon had no unionid; following the bound OA gave her one, shared with her follower.
    lemon = customer_named(world, "Lemon柠檬")
    assert lemon["unionid"] and _follower(world, "柠檬Lemon")["customer"] == lemon["external_userid"]
    stranger = _follower(world, "路人甲")
    assert stranger["unionid"] and stranger["customer"] is None
    assert _follower(world, "匿名访客")["unionid"] is None


async def test_follow_pushes_signed_encrypted_subscribe_when_new_follower_arrives(
    oa_sandbox: Client, oa_receiver: OAReceiver
) -> None:
    result = await act(oa_sandbox, "oa-follow", nickname="新粉丝小王")
    await settle(oa_sandbox)
    openid = result["message"]["openid"]
    (delivered,) = oa_receiver.delivered
    assert set(delivered.query) == {"signature", "timestamp", "nonce", "openid", "encrypt_type", "msg_signature"}
    assert (delivered.query["openid"], delivered.query["encrypt_type"]) == (openid, "aes")
    assert set(delivered.envelope) == {"ToUserName", "Encrypt"} and delivered.envelope["ToUserName"] == OA.original_id
    message = delivered.message
    assert (message["ToUserName"], message["FromUserName"]) == (OA.original_id, openid)
    assert (message["MsgType"], message["Event"]) == ("event", "subscribe") and message["CreateTime"].isdigit()
    # The real library the bot uses reads the same bytes: signature, AppID and plaintext all agree.
    crypto = WeChatCrypto(OA.token, OA.aes_key, OA.app_id)
    query = delivered.query
    plain = crypto.decrypt_message(delivered.body, query["msg_signature"], query["timestamp"], query["nonce"])
    assert plain == delivered.plaintext
    assert result["follower"]["window"]["kind"] == "event" and result["follower"]["unionid"] is None


async def test_customer_message_reaches_oa_webhook_when_customer_says_it_on_the_oa(
    oa_sandbox: Client, oa_receiver: OAReceiver
) -> None:
    world = await state(oa_sandbox)
    deer = customer_named(world, "小鹿乱撞🦌")["external_userid"]
    result = await act(oa_sandbox, "say", **{"as": deer, "in": "oa", "text": "<b>课程</b>怎么报名？"})
    await settle(oa_sandbox)
    message = oa_receiver.delivered[0].message
    assert message["FromUserName"] == _follower(world, "小鹿乱撞🦌")["openid"] == result["message"]["openid"]
    assert (message["MsgType"], message["Content"]) == ("text", "<b>课程</b>怎么报名？")
    assert message["MsgId"] == result["message"]["msgid"] and message["MsgId"].isdigit()
    assert result["follower"]["window"]["kind"] == "message"


async def test_say_on_oa_is_refused_when_customer_does_not_follow_it(oa_sandbox: Client) -> None:
    jie = customer_named(await state(oa_sandbox), "阿杰")["external_userid"]
    status, data = await post_json(oa_sandbox, "/sandbox/act/say", {"as": jie, "in": "oa", "text": "你好"})
    assert status == 404 and data["error"]["code"] == "not_a_follower"


async def test_unfollow_pushes_unsubscribe_when_follower_leaves(oa_sandbox: Client, oa_receiver: OAReceiver) -> None:
    openid = _follower(await state(oa_sandbox), "路人甲")["openid"]
    await act(oa_sandbox, "oa-unfollow", openid=openid)
    await settle(oa_sandbox)
    assert oa_receiver.delivered[0].message["Event"] == "unsubscribe"
    status, data = await post_json(oa_sandbox, "/sandbox/act/oa-say", {"openid": openid, "text": "还在吗"})
    assert status == 409 and data["error"]["code"] == "not_subscribed"
    await act(oa_sandbox, "oa-follow", openid=openid)
    assert _follower(await state(oa_sandbox), "路人甲")["subscribed"] is True


async def test_menu_click_carries_event_key_when_follower_clicks(oa_sandbox: Client, oa_receiver: OAReceiver) -> None:
    openid = _follower(await state(oa_sandbox), "王姐(宝妈)")["openid"]
    await act(oa_sandbox, "oa-menu-click", openid=openid, key="MENU_COURSES")
    await settle(oa_sandbox)
    message = oa_receiver.delivered[0].message
    assert (message["Event"], message["EventKey"]) == ("CLICK", "MENU_COURSES")


async def test_oa_callback_is_retried_when_webhook_answers_500(oa_sandbox: Client, oa_receiver: OAReceiver) -> None:
    oa_receiver.script = ["500", "success"]
    await act(oa_sandbox, "oa-follow", nickname="重试")
    await settle(oa_sandbox)
    assert _attempts(await log(oa_sandbox)) == [(1, "http_500", False), (2, "ok", False)]


async def test_oa_callback_is_not_retried_when_webhook_answers_json(
    oa_sandbox: Client, oa_receiver: OAReceiver
) -> None:
    oa_receiver.script = ["json"]
    await act(oa_sandbox, "oa-follow", nickname="错误应答")
    await settle(oa_sandbox)
    (entry,) = [e for e in await log(oa_sandbox) if e["kind"] == "oa_callback"]
    assert (entry["outcome"], entry["http_status"]) == ("bad_answer", 200) and "reply" in entry["body"]
    assert oa_receiver.posts == 1


async def test_oa_callback_is_duplicated_on_purpose_when_duplicate_rate_is_one(
    oa_receiver: OAReceiver, make_sandbox: SandboxFactory
) -> None:
    sandbox = await make_sandbox(duplicate_rate=1.0, oa=OAConfig(callback_url=oa_receiver.url))
    openid = _follower(await state(sandbox), "老周")["openid"]
    await act(sandbox, "oa-say", openid=openid, text="重复测试")
    await settle(sandbox)
    first, second = oa_receiver.delivered
    assert first.plaintext == second.plaintext and first.envelope["Encrypt"] != second.envelope["Encrypt"]
    assert _attempts(await log(sandbox)) == [(1, "ok", False), (1, "ok", True)]
    assert xmltodict.parse(first.plaintext)["xml"]["Content"] == "重复测试"
