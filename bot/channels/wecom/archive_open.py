"""Opening an archive item once its key is unwrapped: the symmetric step and the JSON parse, with the failure reasons.

Imports only the standard library and cryptography, because the unwrap process (bot/channels/wecom/unwrap_worker.py)
runs it too: a backlog page is opened there whole, so the bot's event loop receives messages, not keys. How a
source's items are opened is named by its `worker_opener()` (JSON for the process's stdin): the sandbox's documented
AES scheme, or the Finance SDK's `DecryptData` from the operator's library.
"""

from __future__ import annotations

import base64
import ctypes
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SANDBOX_AES: Final = "aes-256-cbc"
FINANCE_SDK: Final = "finance-sdk"

Decrypt = Callable[[bytes, str], str]  # (unwrapped key, encrypt_chat_msg) → the message JSON


class ItemUnreadable(Exception):
    """One item cannot be decrypted or read; it is recorded as failed and the pull moves past it."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


def sandbox_decrypt(random_key: bytes, encrypt_chat_msg: str) -> str:
    """The sandbox's scheme (docs/SANDBOX.md): AES-256-CBC, key = the 32 unwrapped bytes, IV = their first 16,
    PKCS#7 padding, base64."""
    if len(random_key) != 32:
        raise ItemUnreadable("decrypt_failed", f"key of {len(random_key)} bytes, expected 32")
    decryptor = Cipher(algorithms.AES(random_key), modes.CBC(random_key[:16])).decryptor()
    padded = decryptor.update(base64.b64decode(encrypt_chat_msg, validate=True)) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")


def declare_slices(lib: ctypes.CDLL) -> None:
    """The Finance SDK's Slice_t calls (a buffer the SDK fills), shared by GetChatData and DecryptData."""
    lib.NewSlice.restype = ctypes.c_void_p
    lib.NewSlice.argtypes = []
    lib.FreeSlice.restype = None
    lib.FreeSlice.argtypes = [ctypes.c_void_p]
    lib.GetContentFromSlice.restype = ctypes.c_void_p
    lib.GetContentFromSlice.argtypes = [ctypes.c_void_p]
    lib.GetSliceLen.restype = ctypes.c_int
    lib.GetSliceLen.argtypes = [ctypes.c_void_p]


def slice_text(lib: ctypes.CDLL, slice_ptr: int) -> str:
    """What the SDK wrote into a slice, as text."""
    length = lib.GetSliceLen(slice_ptr)
    content = lib.GetContentFromSlice(slice_ptr)
    return ctypes.string_at(content, length).decode("utf-8") if content and length > 0 else ""


class SdkDecrypt:
    """The Finance SDK's DecryptData through ctypes; it needs no SDK handle, so any process can call it."""

    def __init__(self, library: Path | str) -> None:
        lib = self._lib = ctypes.CDLL(str(library))
        declare_slices(lib)
        lib.DecryptData.restype = ctypes.c_int
        lib.DecryptData.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]

    def __call__(self, random_key: bytes, encrypt_chat_msg: str) -> str:
        slice_ptr = self._lib.NewSlice()
        try:
            code = self._lib.DecryptData(random_key, encrypt_chat_msg.encode(), slice_ptr)
            if code != 0:
                raise ItemUnreadable("decrypt_failed", f"DecryptData error {code}")
            return slice_text(self._lib, slice_ptr)
        finally:
            self._lib.FreeSlice(slice_ptr)


def decrypt_for(opener: Mapping[str, str]) -> Decrypt:
    """The decrypt step a source's `worker_opener()` names; ValueError for one this code does not know."""
    scheme = opener.get("scheme")
    if scheme == SANDBOX_AES:
        return sandbox_decrypt
    if scheme == FINANCE_SDK:
        return SdkDecrypt(opener["library"])
    raise ValueError(f"unknown archive decrypt scheme {scheme!r}")


def open_with(decrypt: Decrypt, random_key: bytes, encrypt_chat_msg: str) -> dict[str, Any]:
    """Decrypt and parse one item whose key is unwrapped; raises ItemUnreadable with the reason."""
    try:
        text = decrypt(random_key, encrypt_chat_msg)
    except ItemUnreadable:
        raise
    except Exception as exc:
        raise ItemUnreadable("decrypt_failed", f"{type(exc).__name__}: {exc}") from None
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ItemUnreadable("bad_json", str(exc)) from None
    if not isinstance(message, dict):
        raise ItemUnreadable("bad_json", "not an object")
    return message
