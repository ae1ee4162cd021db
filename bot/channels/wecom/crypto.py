"""WeCom callback crypto (WECOM.md §1): msg_signature, AES-256-CBC with 32-byte PKCS#7, strict checks.

Written after Tencent's sample rather than taken from wechatpy: wechatpy neither validates base64 strictly nor
checks the pad value and length prefix before slicing (WECOM.md §1.3), and a hostile body must yield a clean
refusal, never an exception from deep inside a slice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK: Final = 32
_RANDOM_LEN: Final = 16
_LEN_PREFIX: Final = 4


class CryptoFailure(StrEnum):
    """Why a callback was refused; the value goes into the log line."""

    BAD_SIGNATURE = "bad_signature"
    BAD_BASE64 = "bad_base64"
    BAD_LENGTH = "bad_ciphertext_length"
    BAD_PADDING = "bad_padding"
    BAD_LAYOUT = "bad_plaintext_layout"
    BAD_ENCODING = "bad_utf8"
    WRONG_RECEIVER = "wrong_corp_id"


class CallbackCryptoError(Exception):
    def __init__(self, failure: CryptoFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class CallbackCrypto:
    """Signs, encrypts and decrypts for one app: token, EncodingAESKey and receiveid (the CorpID)."""

    token: str
    key: bytes
    receive_id: str
    # Built once: the IV is the key's first 16 bytes, so every message uses the same cipher, and building one
    # cost ~3 µs of the webhook's CPU per callback; each message still gets its own decryptor or encryptor.
    _cipher: Cipher[modes.CBC] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cipher", Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])))

    @classmethod
    def from_settings(cls, token: str, encoding_aes_key: str, receive_id: str) -> CallbackCrypto:
        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        return cls(token=token, key=key, receive_id=receive_id)

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypted)
        # Bytes, not str: compare_digest raises TypeError on a non-ASCII str, and the query is the sender's to choose.
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode("utf-8", "replace")):
            raise CallbackCryptoError(CryptoFailure.BAD_SIGNATURE)

    def decrypt(self, encrypted: str) -> str:
        raw = self._b64(encrypted)
        if not raw or len(raw) % 16:
            raise CallbackCryptoError(CryptoFailure.BAD_LENGTH)
        decryptor = self._cipher.decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        plain = _unpad(padded)
        if len(plain) < _RANDOM_LEN + _LEN_PREFIX:
            raise CallbackCryptoError(CryptoFailure.BAD_LAYOUT)
        (msg_len,) = struct.unpack("!I", plain[_RANDOM_LEN : _RANDOM_LEN + _LEN_PREFIX])
        body = plain[_RANDOM_LEN + _LEN_PREFIX :]
        if msg_len > len(body):
            raise CallbackCryptoError(CryptoFailure.BAD_LAYOUT)
        message, receiver = body[:msg_len], body[msg_len:]
        try:
            text, receiver_text = message.decode("utf-8"), receiver.decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackCryptoError(CryptoFailure.BAD_ENCODING) from None
        if not hmac.compare_digest(receiver_text.encode(), self.receive_id.encode()):
            raise CallbackCryptoError(CryptoFailure.WRONG_RECEIVER)
        return text

    def encrypt(self, message: str, random_prefix: bytes | None = None) -> str:
        prefix = random_prefix if random_prefix is not None else os.urandom(_RANDOM_LEN)
        body = message.encode("utf-8")
        plain = prefix + struct.pack("!I", len(body)) + body + self.receive_id.encode("utf-8")
        pad = PAD_BLOCK - len(plain) % PAD_BLOCK
        encryptor = self._cipher.encryptor()
        return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode()

    @staticmethod
    def _b64(text: str) -> bytes:
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackCryptoError(CryptoFailure.BAD_BASE64) from None


def _unpad(padded: bytes) -> bytes:
    pad = padded[-1]
    if not 1 <= pad <= PAD_BLOCK or pad > len(padded) or padded[-pad:] != bytes([pad]) * pad:
        raise CallbackCryptoError(CryptoFailure.BAD_PADDING)
    return padded[:-pad]
