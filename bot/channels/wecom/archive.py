"""The chat archive (会话内容存档) source: fetch items from a seq, unwrap their keys with our RSA keys, decrypt them.

WeCom's archive needs Tencent's native SDK, whose wire protocol is private (WECOM.md §2c), so the archive is read
through `ArchiveSource`: `SandboxArchiveSource` speaks to the sandbox over HTTP, `FinanceSdkArchiveSource` loads the
operator's `libWeWorkFinanceSdk_C.so` with ctypes. Both hand back the SDK's items; the RSA step (PKCS#1 v1.5 with the
private key of the item's `publickey_ver`) is ours and shared, the symmetric step belongs to the source.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.channels.wecom.archive_open import (
    FINANCE_SDK,
    SANDBOX_AES,
    SdkDecrypt,
    declare_slices,
    open_with,
    sandbox_decrypt,
    slice_text,
)
from bot.channels.wecom.archive_open import (
    ItemUnreadable as ItemUnreadable,  # re-exported: the archive's callers name it from here
)

log = logging.getLogger("qunke.archive")

MAX_LIMIT: Final = 1000
# SDK error codes a retry can fix (WECOM.md §2c: network, parse, system).
RETRYABLE_SDK_ERRORS: Final = frozenset({10001, 10002, 10003})


@dataclass(frozen=True, slots=True)
class ArchiveItem:
    seq: int
    msgid: str
    publickey_ver: int
    encrypt_random_key: str
    encrypt_chat_msg: str

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ArchiveItem:
        return cls(
            seq=int(raw["seq"]),
            msgid=str(raw.get("msgid", "")),
            publickey_ver=int(raw.get("publickey_ver", 0)),
            encrypt_random_key=str(raw.get("encrypt_random_key", "")),
            encrypt_chat_msg=str(raw.get("encrypt_chat_msg", "")),
        )

    def raw(self) -> dict[str, Any]:
        return {"seq": self.seq, "msgid": self.msgid, "publickey_ver": self.publickey_ver}


class ArchiveSourceError(Exception):
    """The source could not return items; `retryable` errors keep the cursor and are tried again later."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"archive error {code}: {message}")
        self.code = code
        self.retryable = code in RETRYABLE_SDK_ERRORS or code < 0


class ArchiveSource(Protocol):
    async def fetch(self, seq: int, limit: int) -> list[ArchiveItem]:
        """Items after `seq` (the SDK's GetChatData), at most `limit` (≤ 1000)."""
        ...

    def decrypt(self, random_key: bytes, encrypt_chat_msg: str) -> str:
        """The SDK's DecryptData: the message JSON, given the item's unwrapped key. CPU only, no I/O."""
        ...

    def worker_opener(self) -> dict[str, str] | None:
        """How the unwrap process can run `decrypt` itself (bot/channels/wecom/archive_open.py), or None: it then
        unwraps keys only and `decrypt` runs in the bot's process."""
        ...

    async def close(self) -> None: ...


class ArchiveKeys:
    """The operator's RSA private keys by `publickey_ver` (keys are rotated in the admin console)."""

    def __init__(self, keys: Mapping[int, rsa.RSAPrivateKey]) -> None:
        self._keys = dict(keys)
        self._reported: set[int] = set()

    @classmethod
    def load(cls, paths: Mapping[int, Path]) -> ArchiveKeys:
        keys: dict[int, rsa.RSAPrivateKey] = {}
        for version, path in paths.items():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{path}: not an RSA private key (archive key version {version})")
            keys[version] = key
        return cls(keys)

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys)

    def pems(self) -> dict[int, bytes]:
        """The keys as unencrypted PKCS#8 PEM, for the unwrap process (bot/channels/wecom/unwrap_pool.py)."""
        return {
            version: key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            for version, key in self._keys.items()
        }

    def has(self, item: ArchiveItem) -> bool:
        """Whether the item's key version is configured; the first miss of a version logs one line."""
        return self._key(item) is not None

    def _key(self, item: ArchiveItem) -> rsa.RSAPrivateKey | None:
        key = self._keys.get(item.publickey_ver)
        if key is None and item.publickey_ver not in self._reported:
            self._reported.add(item.publickey_ver)  # one clear line per version, not one per message
            log.error(
                "archive key version %s is not configured (configured: %s): add its private key to "
                "QUNKE_ARCHIVE_PRIVATE_KEYS; its messages are recorded as failed",
                item.publickey_ver,
                self.versions or "none",
            )
        return key

    def unwrap(self, item: ArchiveItem) -> bytes:
        key = self._key(item)
        if key is None:
            raise ItemUnreadable("unknown_key_version", f"publickey_ver {item.publickey_ver}")
        try:
            return key.decrypt(base64.b64decode(item.encrypt_random_key, validate=True), padding.PKCS1v15())
        except ValueError as exc:
            raise ItemUnreadable("key_decrypt_failed", str(exc) or type(exc).__name__) from None


def open_item(source: ArchiveSource, keys: ArchiveKeys, item: ArchiveItem) -> dict[str, Any]:
    """RSA-unwrap, decrypt and parse one item; raises ItemUnreadable with the reason."""
    return open_unwrapped(source, keys.unwrap(item), item)


def open_unwrapped(source: ArchiveSource, random_key: bytes, item: ArchiveItem) -> dict[str, Any]:
    """Decrypt and parse one item whose key is already unwrapped; raises ItemUnreadable with the reason."""
    return open_with(source.decrypt, random_key, item.encrypt_chat_msg)


class SandboxArchiveSource:
    """The sandbox's stand-in for GetChatData over HTTP, and its documented symmetric scheme (docs/SANDBOX.md):
    AES-256-CBC, key = the 32 unwrapped key bytes, IV = their first 16 bytes, PKCS#7 padding, base64."""

    def __init__(self, http: aiohttp.ClientSession, api_base: str, corp_id: str, secret: str, timeout_s: float) -> None:
        self._http, self._url = http, f"{api_base.rstrip('/')}/sandbox/finance/getchatdata"
        self._corp_id, self._secret = corp_id, secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def fetch(self, seq: int, limit: int) -> list[ArchiveItem]:
        body = {"corpid": self._corp_id, "secret": self._secret, "seq": seq, "limit": min(limit, MAX_LIMIT)}
        try:
            async with self._http.post(self._url, json=body, timeout=self._timeout) as resp:
                if resp.status >= 500:
                    raise ArchiveSourceError(10003, f"HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ArchiveSourceError(10001, f"{type(exc).__name__}: {exc}") from exc
        return _items(data)

    def decrypt(self, random_key: bytes, encrypt_chat_msg: str) -> str:
        return sandbox_decrypt(random_key, encrypt_chat_msg)

    def worker_opener(self) -> dict[str, str] | None:
        return {"scheme": SANDBOX_AES}

    async def close(self) -> None:
        return None


def _items(data: object) -> list[ArchiveItem]:
    if not isinstance(data, dict):
        raise ArchiveSourceError(10002, "answer is not a JSON object")
    errcode = int(data.get("errcode", 0))
    if errcode != 0:
        raise ArchiveSourceError(errcode, str(data.get("errmsg", "")))
    try:
        return [ArchiveItem.from_json(raw) for raw in data.get("chatdata") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise ArchiveSourceError(10002, f"unreadable chatdata: {exc}") from None


class FinanceSdkArchiveSource:
    """Tencent's `libWeWorkFinanceSdk_C.so`, loaded with ctypes; every SDK call runs in a worker thread, because
    GetChatData blocks on the network for up to `timeout_s`."""

    def __init__(self, library: Path, corp_id: str, secret: str, timeout_s: int, proxy: str = "", passwd: str = ""):
        self._lib, self._library = ctypes.CDLL(str(library)), library.resolve()
        self._declare(self._lib)
        self._decrypt = SdkDecrypt(self._library)
        self._proxy, self._passwd, self._timeout = proxy.encode(), passwd.encode(), int(timeout_s)
        self._sdk = self._lib.NewSdk()
        if not self._sdk:
            raise ArchiveSourceError(10003, "NewSdk returned NULL")
        code = self._lib.Init(self._sdk, corp_id.encode(), secret.encode())
        if code != 0:
            self._lib.DestroySdk(self._sdk)
            raise ArchiveSourceError(code, "Init failed (check the corp id and the 会话内容存档 secret)")
        self._lock = asyncio.Lock()  # the SDK handle is not documented as thread-safe: one call at a time

    @staticmethod
    def _declare(lib: ctypes.CDLL) -> None:
        lib.NewSdk.restype = ctypes.c_void_p
        lib.NewSdk.argtypes = []
        lib.Init.restype = ctypes.c_int
        lib.Init.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.DestroySdk.restype = None
        lib.DestroySdk.argtypes = [ctypes.c_void_p]
        declare_slices(lib)
        lib.GetChatData.restype = ctypes.c_int
        lib.GetChatData.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulonglong,
            ctypes.c_uint,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_void_p,
        ]

    def _get_chat_data(self, seq: int, limit: int) -> str:
        slice_ptr = self._lib.NewSlice()
        try:
            code = self._lib.GetChatData(
                self._sdk, seq, min(limit, MAX_LIMIT), self._proxy, self._passwd, self._timeout, slice_ptr
            )
            if code != 0:
                raise ArchiveSourceError(code, "GetChatData failed")
            return slice_text(self._lib, slice_ptr)
        finally:
            self._lib.FreeSlice(slice_ptr)

    async def fetch(self, seq: int, limit: int) -> list[ArchiveItem]:
        async with self._lock:
            text = await asyncio.to_thread(self._get_chat_data, seq, limit)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArchiveSourceError(10002, f"GetChatData returned invalid JSON: {exc}") from None
        return _items(data)

    def decrypt(self, random_key: bytes, encrypt_chat_msg: str) -> str:
        return self._decrypt(random_key, encrypt_chat_msg)

    def worker_opener(self) -> dict[str, str] | None:
        return {"scheme": FINANCE_SDK, "library": str(self._library)}

    async def close(self) -> None:
        async with self._lock:
            if self._sdk:
                self._lib.DestroySdk(self._sdk)
                self._sdk = None
