"""WeCom callback crypto (WXBizMsgCrypt), written here so the sandbox shares no code with the bot."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import string
import struct
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# WeCom pads to 32 bytes although AES blocks are 16 (WECOM.md §1.3), so a pad byte runs 1..32.
PAD_BLOCK: Final = 32
_RANDOM_ALPHABET: Final = string.ascii_letters + string.digits


class CryptoError(Exception):
    """A failure with the official library's code (WECOM.md §1.4); the codes never travel on the wire."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """sha1 over the lexicographically sorted join of the four strings (WECOM.md §1.2)."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode()).hexdigest()


def pkcs7_pad(data: bytes) -> bytes:
    amount = PAD_BLOCK - len(data) % PAD_BLOCK
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes) -> bytes:
    amount = data[-1] if data else 0
    # The official sample slices without checking; a checked unpad refuses what it would misread.
    if not 1 <= amount <= PAD_BLOCK or amount > len(data) or data[-amount:] != bytes([amount]) * amount:
        raise CryptoError(-40008, "bad PKCS#7 padding")
    return data[:-amount]


class CallbackCrypto:
    """Encrypts and decrypts one corp's callback payloads; receive_id is the CorpID for app callbacks."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise CryptoError(-40004, "EncodingAESKey is not base64") from None
        if len(key) != 32:
            raise CryptoError(-40004, "EncodingAESKey must decode to 32 bytes")
        self._token = token
        self._key = key
        self._receive_id = receive_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self._token, timestamp, nonce, encrypted)

    def encrypt(self, message: str, receive_id: str | None = None) -> str:
        """Base64(AES(random16 ‖ len ‖ msg ‖ receiveid)); the random prefix is ASCII, as in the samples."""
        body = message.encode()
        rid = (self._receive_id if receive_id is None else receive_id).encode()
        prefix = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(16)).encode()
        plain = pkcs7_pad(prefix + struct.pack(">I", len(body)) + body + rid)
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt_with_id(self, encrypted: str) -> tuple[str, str]:
        """Return (message, receiveid) without judging the receiveid."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError(-40010, "ciphertext is not base64") from None
        if not raw or len(raw) % 16:
            raise CryptoError(-40007, "ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError(-40008, "plaintext shorter than its header")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError(-40008, "message length runs past the plaintext")
        try:
            return plain[20 : 20 + length].decode(), plain[20 + length :].decode()
        except UnicodeDecodeError:
            raise CryptoError(-40008, "plaintext is not UTF-8") from None

    def decrypt(self, encrypted: str) -> str:
        message, receive_id = self.decrypt_with_id(encrypted)
        if receive_id != self._receive_id:
            raise CryptoError(-40005, "receiveid does not match")
        return message
