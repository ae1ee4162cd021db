"""The bot alone on a loopback port (for webhook tests that need no sandbox), plus a signed-callback builder."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.app import create_app
from bot.channels.wecom.crypto import CallbackCrypto, signature
from bot.config.settings import Settings
from tests.support.postgres import free_port
from tests.support.stack import start_site


@asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[str]:
    port = free_port()
    runner: web.AppRunner = await start_site(create_app(settings), port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def envelope(encrypted: str, corp_id: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    )


def signed(crypto: CallbackCrypto, plaintext: str, corp_id: str | None = None) -> tuple[dict[str, str], str]:
    """Query parameters and body for a callback exactly as WeCom would POST it."""
    encrypted = crypto.encrypt(plaintext)
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    query = {
        "msg_signature": signature(crypto.token, timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return query, envelope(encrypted, corp_id or crypto.receive_id)


def member_text(msg_id: str, content: str = "你好") -> str:
    return (
        "<xml><ToUserName><![CDATA[ww5a1f0c9e2b7d4a31]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )
