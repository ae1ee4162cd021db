"""Chat-archive test helpers: one RSA keypair per run and an independent reader of the documented item format."""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sandbox.config import ArchiveConfig, SandboxConfig
from tests.sandbox.sandbox_api import Client, post_json

DEMO = SandboxConfig()


@functools.cache
def keypair() -> tuple[bytes, rsa.RSAPrivateKey]:
    """(public PEM, private key), generated once per test run: RSA-2048 generation is the slow part."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public_pem, private


def archive_config(**overrides: Any) -> ArchiveConfig:
    return ArchiveConfig(public_key_pem=keypair()[0], **overrides)


def unwrap_key(item: dict[str, Any], private: rsa.RSAPrivateKey | None = None) -> bytes:
    """RSA PKCS#1 v1.5 decrypt of the base64 encrypt_random_key, as the SDK's callers do (WECOM.md §2c)."""
    private = private or keypair()[1]
    return private.decrypt(base64.b64decode(item["encrypt_random_key"]), padding.PKCS1v15())


def decrypt_item(item: dict[str, Any]) -> bytes:
    """The scheme docs/SANDBOX.md documents, written here from the text: AES-256-CBC, IV = key[:16], PKCS#7.

    OpenSSL 3 answers a PKCS#1 v1.5 decryption under the wrong key with a synthetic plaintext instead of an error
    (implicit rejection), so a wrong key shows up here as a key of the wrong shape or as bad padding.
    """
    key = unwrap_key(item)
    if len(key) != 32 or not key.isascii():
        raise ValueError("the unwrapped key is not 32 ASCII bytes")
    raw = base64.b64decode(item["encrypt_chat_msg"], validate=True)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(raw) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 16 or not padded.endswith(bytes([pad]) * pad):
        raise ValueError("bad PKCS#7 padding")
    return padded[:-pad]


def read_item(item: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(decrypt_item(item))
    return message


async def pull(client: Client, seq: int = 0, limit: int = 1000, **overrides: Any) -> dict[str, Any]:
    body = {"corpid": DEMO.corp_id, "secret": DEMO.archive.secret, "seq": seq, "limit": limit, **overrides}
    status, data = await post_json(client, "/sandbox/finance/getchatdata", body)
    assert status == 200, data
    return data


async def pulled(client: Client, seq: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    data = await pull(client, seq, limit)
    assert data["errcode"] == 0, data
    items: list[dict[str, Any]] = data["chatdata"]
    return items
