"""A stand-in bot for sandbox tests: checks signatures and decrypts with wechatpy, an independent code path."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from aiohttp import web
from wechatpy.work.crypto import WeChatCrypto

from sandbox.config import SandboxConfig


@dataclass
class Delivered:
    query: dict[str, str]
    envelope: dict[str, Any]
    plaintext: str
    event: dict[str, Any]
    at: float


@dataclass
class Receiver:
    """Records every decryptable POST; `script` sets how successive POSTs are answered ("ok", "500", "slow")."""

    config: SandboxConfig = field(default_factory=SandboxConfig)
    url: str = ""
    script: list[str] = field(default_factory=list)
    slow_s: float = 0.6
    echo: str = "correct"
    posts: int = 0
    delivered: list[Delivered] = field(default_factory=list)
    echo_queries: list[dict[str, str]] = field(default_factory=list)

    @property
    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.config.token, self.config.aes_key, self.config.corp_id)

    async def on_post(self, request: web.Request) -> web.Response:
        self.posts += 1
        behaviour = self.script.pop(0) if self.script else "ok"
        if behaviour == "slow":
            await asyncio.sleep(self.slow_s)
            return web.Response(text="")
        if behaviour == "500":
            return web.Response(status=500, text="oops")
        body = await request.text()
        query = dict(request.query)
        # decrypt_message verifies msg_signature and the CorpID before it returns the plaintext.
        plaintext = self.crypto.decrypt_message(body, query["msg_signature"], query["timestamp"], query["nonce"])
        event = xmltodict.parse(plaintext)["xml"]
        envelope = xmltodict.parse(body)["xml"]
        self.delivered.append(Delivered(query, envelope, plaintext, event, time.monotonic()))
        return web.Response(text="")

    async def on_get(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.echo_queries.append(query)
        plain = self.crypto.check_signature(
            query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
        )
        if self.echo == "slow":
            await asyncio.sleep(1.3)
        if self.echo == "newline":
            return web.Response(text=plain + "\n")
        return web.Response(text=plain)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/wecom/callback", self.on_post)
        app.router.add_get("/wecom/callback", self.on_get)
        return app

    def events(self, change_type: str) -> list[dict[str, Any]]:
        return [d.event for d in self.delivered if d.event["ChangeType"] == change_type]
