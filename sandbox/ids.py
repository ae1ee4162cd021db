"""Deterministic WeCom-shaped identifiers drawn from the sandbox seed."""

from __future__ import annotations

import random
import secrets
import string
from typing import Final

from sandbox.state.codec import rng_restore, rng_snapshot

# Real external ids and chat ids mix letters, digits, '_' and '-'; keep both so parsers meet them.
_ID_ALPHABET: Final = string.ascii_letters + string.digits + "_-"
_ALNUM: Final = string.ascii_letters + string.digits


class IdFactory:
    """Every id the sandbox invents; one seeded generator keeps a demo corp identical across runs."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"qunke-sandbox-ids-{seed}")
        self._issued: set[str] = set()

    def _fresh(self, prefix: str, length: int, alphabet: str = _ID_ALPHABET) -> str:
        while True:
            # The first character after the prefix is alphanumeric, as in every real id seen.
            value = prefix + self._rng.choice(_ALNUM)
            value += "".join(self._rng.choice(alphabet) for _ in range(length - len(value)))
            if value not in self._issued:
                self._issued.add(value)
                return value

    def snapshot(self) -> dict[str, object]:
        return rng_snapshot(self._rng, self._issued)

    def restore(self, data: object) -> None:
        self._issued = rng_restore(self._rng, data)

    def external_userid(self) -> str:
        return self._fresh("wm", 32)

    def chat_id(self) -> str:
        return self._fresh("wr", 30)

    def tag_id(self) -> str:
        return self._fresh("et", 32, _ALNUM)

    def unionid(self) -> str:
        return self._fresh("o", 28)

    def welcome_code(self) -> str:
        return self._fresh("", 43, _ALNUM)

    def avatar(self) -> str:
        path = "".join(self._rng.choice(_ALNUM) for _ in range(40))
        return f"https://wx.qlogo.cn/mmhead/{path}/0"

    def member_version(self) -> str:
        """A 32-hex-digit version, the shape seen in groupchat/get and CurMemVer."""
        return f"{self._rng.getrandbits(128):032x}"

    def open_kfid(self) -> str:
        """A kf account id: `wk` and 20 more characters."""
        return self._fresh("wk", 22, _ALNUM)

    def kf_msgid(self) -> str:
        """A kf message id that WeCom itself assigns (customer, servicer and system messages, API sends).

        Not from the seeded generator: WeCom never issues a msgid twice, and a restarted sandbox replaying the same
        ids would have a bot that keeps its database drop the new messages as already stored."""
        return self._unrepeatable("", 40)

    def kf_token(self) -> str:
        """The Token of a kf_msg_or_event callback; real ones start with ENC and stay well under 128 bytes.

        Unseeded like kf_msgid: a repeated Token makes a restarted sandbox's callback look like a redelivery."""
        return self._unrepeatable("ENC", 47)

    def _unrepeatable(self, prefix: str, length: int) -> str:
        """An id no run of the sandbox has issued before (drawn from `secrets`, not the seeded generator)."""
        while True:
            value = prefix + "".join(secrets.choice(_ALNUM) for _ in range(length - len(prefix)))
            if value not in self._issued:
                self._issued.add(value)
                return value

    def kf_code(self) -> str:
        """welcome_code and msg_code values for kf/send_msg_on_event."""
        return self._fresh("", 43, _ALNUM)

    def media_id(self) -> str:
        return self._fresh("", 64, _ALNUM)

    def app_msgid(self) -> str:
        """An app message's MsgId: a 64-bit number, written in decimal (WECOM.md §2a, §1.6's 4561255354251345929)."""
        # Unseeded, like kf_msgid: the bot dedupes callbacks by MsgId, so a restarted sandbox must not repeat one.
        return str(secrets.randbits(62) | (1 << 62))
