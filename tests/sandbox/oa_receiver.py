"""A stand-in Official Account webhook for sandbox tests, checking signatures and decrypting independently.

Written from WECOM.md §1.2-§1.3 and §4, not from sandbox/crypto.py, so a bug shared with the sandbox cannot hide.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sandbox.config import OAConfig


@dataclass
class OADelivered:
    query: dict[str, str]
    body: str
    envelope: dict[str, Any]
    plaintext: str
    message: dict[str, Any]


def sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def decrypt(aes_key: str, encrypted: str) -> tuple[str, str]:
    """(message, receiveid): AES-256-CBC with IV = key[:16], 32-byte PKCS#7, random16 ‖ len ‖ msg ‖ receiveid."""
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    pad = plain[-1]
    assert 1 <= pad <= 32 and plain.endswith(bytes([pad]) * pad)
    plain = plain[:-pad]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode(), plain[20 + length :].decode()


@dataclass
class OAReceiver:
    """Records every POST; `script` sets how successive POSTs are answered: ok, success, 500, json."""

    config: OAConfig = field(default_factory=OAConfig)
    url: str = ""
    script: list[str] = field(default_factory=list)
    posts: int = 0
    delivered: list[OADelivered] = field(default_factory=list)

    async def on_post(self, request: web.Request) -> web.Response:
        self.posts += 1
        behaviour = self.script.pop(0) if self.script else "ok"
        if behaviour == "500":
            return web.Response(status=500, text="oops")
        query = dict(request.query)
        body = await request.text()
        envelope = xmltodict.parse(body)["xml"]
        token, ts, nonce = self.config.token, query["timestamp"], query["nonce"]
        assert query["signature"] == sha1_sorted(token, ts, nonce)
        assert query["msg_signature"] == sha1_sorted(token, ts, nonce, envelope["Encrypt"])
        plaintext, receive_id = decrypt(self.config.aes_key, envelope["Encrypt"])
        assert receive_id == self.config.app_id
        message = xmltodict.parse(plaintext)["xml"]
        self.delivered.append(OADelivered(query, body, envelope, plaintext, message))
        if behaviour == "json":
            return web.json_response({"reply": "not what the platform wants"})
        return web.Response(text="success" if behaviour == "success" else "")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/wechat/callback", self.on_post)
        return app
