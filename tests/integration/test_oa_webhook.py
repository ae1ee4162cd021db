"""The Official Account webhook over real HTTP: wechatpy-signed callbacks are stored before `success`, bad ones
refused; stored follower messages reach the customer's timeline."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from wechatpy.crypto import WeChatCrypto

from bot.config.platform import OfficialAccountSettings
from bot.config.settings import Settings
from services.customers.profiles import customer_profile
from storage.db import make_sessionmaker
from storage.models.customers import Customer
from storage.models.inbox import InboundEvent
from tests.support.bot_only import running_bot
from tests.support.stack import bot_settings

APP_ID = "wxd3a1c0b2e4f56789"
TOKEN = "QunkeOaToken2026"
AES_KEY = "MiBAdSwUNOgN25lSo0eW2tac8WejwJ0Lgd8A1xuCLMh"
CRYPTO = WeChatCrypto(TOKEN, AES_KEY, APP_ID)


def oa_settings(database_url: str) -> Settings:
    # Nothing listens on port 9: a reply the FAQ queues (an answer, a "did you mean" menu) never reaches real WeChat.
    oa = OfficialAccountSettings(
        api_base="http://127.0.0.1:9/oa", app_id=APP_ID, secret="s", token=TOKEN, aes_key=AES_KEY
    )
    return replace_settings(bot_settings(database_url, "http://127.0.0.1:9"), oa)


def replace_settings(settings: Settings, oa: OfficialAccountSettings) -> Settings:
    return settings.model_copy(update={"officialaccount": oa})


def text_message(openid: str, content: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_qunkedemo01]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def signed_post(plaintext: str, crypto: WeChatCrypto = CRYPTO) -> tuple[dict[str, str], str]:
    """Query and body exactly as WeChat sends them in safe mode, built with the real wechatpy library."""
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    encrypted_xml = crypto.encrypt_message(plaintext, nonce, timestamp)
    import xmltodict

    fields = xmltodict.parse(encrypted_xml)["xml"]
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    query = {
        "signature": signature,
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": "o",
        "encrypt_type": "aes",
        "msg_signature": fields["MsgSignature"],
    }
    body = (
        "<xml><ToUserName><![CDATA[gh_qunkedemo01]]></ToUserName>"
        f"<Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>"
    )
    return query, body


async def stored(engine: AsyncEngine) -> list[InboundEvent]:
    async with make_sessionmaker(engine)() as session:
        return list((await session.execute(select(InboundEvent).where(InboundEvent.source == "oa"))).scalars())


async def test_follower_message_is_stored_before_success_and_reaches_the_timeline(
    database_url: str, engine: AsyncEngine
) -> None:
    openid = "oQunkeFollower000000000001"
    async with running_bot(oa_settings(database_url)) as url, aiohttp.ClientSession() as http:
        for _ in range(2):  # WeChat retries; the second delivery is a duplicate
            query, body = signed_post(text_message(openid, "公众号里问：几点开门？", 424242))
            async with http.post(f"{url}/wechat/callback", params=query, data=body.encode()) as resp:
                assert resp.status == 200 and await resp.text() == "success"
            assert len(await stored(engine)) == 1
        for _ in range(100):
            async with make_sessionmaker(engine)() as session:
                customer = (
                    await session.execute(select(Customer).where(Customer.oa_openid == openid))
                ).scalar_one_or_none()
                profile = await customer_profile(session, customer.id) if customer else None
            if profile and any(t.kind == "message" for t in profile.timeline):
                break
            await asyncio.sleep(0.05)
    assert profile is not None
    [message] = [t for t in profile.timeline if t.kind == "message"]
    assert (message.channel, message.chat_type, message.text) == ("oa", "oa", "公众号里问：几点开门？")


def _forged() -> tuple[dict[str, str], str]:
    query, body = signed_post(text_message("oX", "hi", 1))
    return {**query, "signature": "0" * 40}, body


def _forged_msg_signature() -> tuple[dict[str, str], str]:
    query, body = signed_post(text_message("oX", "hi", 2))
    return {**query, "msg_signature": "0" * 40}, body


def _other_app() -> tuple[dict[str, str], str]:
    return signed_post(text_message("oX", "hi", 3), WeChatCrypto(TOKEN, AES_KEY, "wx0000000000000000"))


def _plaintext_mode() -> tuple[dict[str, str], str]:
    query, _ = signed_post(text_message("oX", "hi", 4))
    return {k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}, text_message("oX", "hi", 4)


def _corrupt() -> tuple[dict[str, str], str]:
    query, _ = signed_post(text_message("oX", "hi", 5))
    encrypted = "QUJD" * 8
    timestamp, nonce = query["timestamp"], query["nonce"]
    msg_signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce, encrypted])).encode()).hexdigest()
    return {**query, "msg_signature": msg_signature}, f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"


def _nested_1000_deep() -> tuple[dict[str, str], str]:
    query, _ = signed_post(text_message("oX", "hi", 6))
    return query, "<xml><Encrypt>" + "<b>" * 1000 + "</b>" * 1000 + "</Encrypt></xml>"


def _nested_1000_deep_inside() -> tuple[dict[str, str], str]:
    return signed_post("<xml><MsgType>text</MsgType>" + "<b>" * 1000 + "</b>" * 1000 + "</xml>")


def _non_ascii_signature() -> tuple[dict[str, str], str]:
    query, body = signed_post(text_message("oX", "hi", 7))
    return {**query, "signature": "签名" * 20}, body


def _not_utf8() -> tuple[dict[str, str], str]:
    query, _ = signed_post(text_message("oX", "hi", 8))
    return query, "<xml><Encrypt>\udcff</Encrypt></xml>"


def _empty_body() -> tuple[dict[str, str], str]:
    query, _ = signed_post(text_message("oX", "hi", 9))
    return query, ""


@pytest.mark.parametrize(
    ("build", "status", "reason"),
    [
        (_nested_1000_deep, 400, "xml_too_deep"),
        (_nested_1000_deep_inside, 400, "bad_message"),
        (_non_ascii_signature, 403, "bad_signature"),
        (_not_utf8, 400, "bad_encoding"),
        (_empty_body, 400, "bad_envelope"),
        (_forged, 403, "bad_signature"),
        (_forged_msg_signature, 403, "bad_signature"),
        (_other_app, 403, "wrong_app_id"),
        (_plaintext_mode, 400, "not_encrypted"),
        (_corrupt, 400, "bad_ciphertext"),
    ],
)
async def test_bad_oa_callbacks_are_refused_logged_and_not_stored(
    database_url: str, engine: AsyncEngine, caplog: pytest.LogCaptureFixture, build: object, status: int, reason: str
) -> None:
    query, body = build()  # type: ignore[operator]
    async with running_bot(oa_settings(database_url)) as url, aiohttp.ClientSession() as http:
        with caplog.at_level(logging.WARNING, logger="qunke.officialaccount"):
            data = body.encode("utf-8", "surrogateescape")
            async with http.post(f"{url}/wechat/callback", params=query, data=data) as resp:
                assert (resp.status, await resp.text()) == (status, reason)
    assert len([r for r in caplog.records if r.name == "qunke.officialaccount"]) == 1
    assert await stored(engine) == []


async def test_server_check_echoes_only_with_a_valid_signature(database_url: str) -> None:
    timestamp, nonce = "1700000000", "n0nce"
    good = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    async with running_bot(oa_settings(database_url)) as url, aiohttp.ClientSession() as http:
        query = {"signature": good, "timestamp": timestamp, "nonce": nonce, "echostr": "hello123"}
        async with http.get(f"{url}/wechat/callback", params=query) as resp:
            assert (resp.status, await resp.text()) == (200, "hello123")
        async with http.get(f"{url}/wechat/callback", params={**query, "signature": "0" * 40}) as resp:
            assert resp.status == 403
