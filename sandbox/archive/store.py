"""The chat archive (会话内容存档): every archived message in corp-wide seq order, sealed as chatdata items."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.archive.crypto import (
    Sealed,
    encrypt_chat_msg,
    generate_keypair,
    load_archive_public_key,
    random_key,
    seal,
    wrap_key,
)
from sandbox.clock import Clock
from sandbox.state.codec import from_plain, to_plain
from sandbox.wire import Json

# How long GetChatData still returns a message: secondary sources say 5 days or 3 days, the 专区 API says 5
# (WECOM.md §2c). UNCONFIRMED; the sandbox takes 3 days, the stricter reading, so a bot that falls behind learns it.
RETENTION_MS: Final = 3 * 86_400 * 1000
MAX_LIMIT: Final = 1000


class Fault(StrEnum):
    """Deliberately broken items, for the bot's failure path."""

    NONE = ""
    CORRUPT_MSG = "corrupt_msg"
    CORRUPT_KEY = "corrupt_key"
    UNKNOWN_KEY = "unknown_key"


def room_chat(chat_id: str) -> str:
    return f"room:{chat_id}"


def single_chat(userid: str, external_userid: str) -> str:
    return f"single:{userid}:{external_userid}"


@dataclass(frozen=True, slots=True)
class ArchivedMessage:
    seq: int
    msgid: str
    msgtime_ms: int
    # room:<chat_id> or single:<userid>:<external_userid>, so the page can file the message under its chat.
    chat: str
    plain: Json
    publickey_ver: int
    sealed: Sealed | None
    fault: Fault = Fault.NONE

    def chatdata(self) -> Json:
        """One item of GetChatData's `chatdata`, exactly the SDK's fields (WECOM.md §2c)."""
        if self.sealed is None:
            raise RuntimeError("the archive is disabled: nothing was sealed")
        return {
            "seq": self.seq,
            "msgid": self.msgid,
            "publickey_ver": self.publickey_ver,
            "encrypt_random_key": self.sealed.encrypt_random_key,
            "encrypt_chat_msg": self.sealed.encrypt_chat_msg,
        }

    def admin_json(self) -> Json:
        """The admin view: what the bot should read after decrypting (the page and tests use it)."""
        return {
            "seq": self.seq,
            "msgid": self.msgid,
            "chat": self.chat,
            "publickey_ver": self.publickey_ver,
            "fault": self.fault.value,
            "message": self.plain,
        }


def plaintext_json(plain: Json) -> str:
    """The exact bytes the bot decrypts: compact JSON with Chinese left as UTF-8, like WeCom's."""
    return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))


class ChatArchive:
    """Items are kept for the page; pulls skip what is past retention. Disabled archives still number messages."""

    def __init__(self, clock: Clock, public_key_pem: bytes | None, key_version: int) -> None:
        self._clock = clock
        self._public_key = load_archive_public_key(public_key_pem) if public_key_pem is not None else None
        self.key_version = key_version
        self._items: list[ArchivedMessage] = []
        self._by_msgid: dict[str, ArchivedMessage] = {}
        self._stranger_key: rsa.RSAPublicKey | None = None

    @property
    def enabled(self) -> bool:
        return self._public_key is not None

    @property
    def last_seq(self) -> int:
        return len(self._items)

    def snapshot(self) -> object:
        return to_plain(self._items)

    def restore(self, data: object) -> None:
        """Sealed items come back as sealed, so a pull after a restart returns the same bytes for the same seq."""
        items: list[ArchivedMessage] = from_plain(list[ArchivedMessage], data)
        if [item.seq for item in items] != list(range(1, len(items) + 1)):
            raise ValueError("archive: seq numbers must run 1, 2, 3, ...")
        self._items = items
        self._by_msgid = {item.msgid: item for item in items}

    def now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def append(self, plain: Json, chat: str, fault: Fault = Fault.NONE, version: int | None = None) -> ArchivedMessage:
        """Seal and number one message; `version` is only for items wrapped with a key nobody configured."""
        msgid = plain.get("msgid")
        if not isinstance(msgid, str) or not msgid or msgid in self._by_msgid:
            raise ValueError(f"a new, unique msgid is required, got {msgid!r}")
        raw_time = plain.get("msgtime")
        msgtime = raw_time if isinstance(raw_time, int) else self.now_ms()
        sealed = self._seal(plaintext_json(plain), fault)
        item = ArchivedMessage(
            seq=len(self._items) + 1,
            msgid=msgid,
            msgtime_ms=msgtime,
            chat=chat,
            plain=plain,
            publickey_ver=self.key_version if version is None else version,
            sealed=sealed,
            fault=fault,
        )
        self._items.append(item)
        self._by_msgid[msgid] = item
        return item

    def _seal(self, text: str, fault: Fault) -> Sealed | None:
        key = self._public_key
        if key is None:
            return None
        if fault is Fault.UNKNOWN_KEY:
            if self._stranger_key is None:
                raise RuntimeError("call stranger_key() before sealing with an unknown key")
            return seal(text, self._stranger_key)
        if fault is Fault.CORRUPT_MSG:
            # 40 bytes is not a whole number of AES blocks: no key can decrypt it.
            return Sealed(wrap_key(random_key(), key), _b64(os.urandom(40)))
        if fault is Fault.CORRUPT_KEY:
            # 255 bytes cannot be an RSA-2048 ciphertext (those are exactly 256 bytes).
            return Sealed(_b64(os.urandom(255)), encrypt_chat_msg(text, random_key()))
        return seal(text, key)

    async def stranger_key(self) -> None:
        """A public key whose private half nobody holds, made once, off the event loop."""
        if self._stranger_key is None:
            public_pem, _ = await asyncio.to_thread(generate_keypair)
            self._stranger_key = load_archive_public_key(public_pem)

    def pull(self, seq: int, limit: int) -> list[ArchivedMessage]:
        """Items from seq+1 that are still retained, at most `limit` of them."""
        oldest = self.now_ms() - RETENTION_MS
        found: list[ArchivedMessage] = []
        for item in self._items[seq:]:
            if item.msgtime_ms < oldest:
                continue
            found.append(item)
            if len(found) >= limit:
                break
        return found

    def since(self, seq: int) -> list[ArchivedMessage]:
        return self._items[max(seq, 0) :]

    def find(self, msgid: str) -> ArchivedMessage | None:
        return self._by_msgid.get(msgid)

    def is_recalled(self, msgid: str) -> bool:
        return any(
            item.plain.get("action") == "recall" and _pre_msgid(item.plain) == msgid for item in reversed(self._items)
        )

    def chat_summary(self) -> dict[str, tuple[int, int]]:
        """chat key -> (message count, last seq)."""
        summary: dict[str, tuple[int, int]] = {}
        for item in self._items:
            count, _ = summary.get(item.chat, (0, 0))
            summary[item.chat] = (count + 1, item.seq)
        return summary


def _pre_msgid(plain: Json) -> object:
    revoke = plain.get("revoke")
    return revoke.get("pre_msgid") if isinstance(revoke, dict) else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
