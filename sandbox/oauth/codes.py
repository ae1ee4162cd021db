"""Login codes as WeCom issues them: one per confirmed login, usable once, dead after five minutes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from sandbox.clock import Clock

CODE_TTL_S: Final = 300  # "code只能使用一次，5分钟未被使用自动过期"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who logged in: a member (`userid`) or a WeChat user outside the corp (`openid`)."""

    userid: str = ""
    openid: str = ""


class CodeStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._codes: dict[str, tuple[Identity, int]] = {}

    def issue(self, who: Identity) -> str:
        self._forget_expired()
        code = secrets.token_urlsafe(24)
        self._codes[code] = (who, self._clock.epoch())
        return code

    def redeem(self, code: str) -> Identity | None:
        """The identity behind the code, once; None for an unknown, used or expired code."""
        found = self._codes.pop(code, None)
        if found is None or self._clock.epoch() - found[1] > CODE_TTL_S:
            return None
        return found[0]

    def _forget_expired(self) -> None:
        now = self._clock.epoch()
        for code in [c for c, (_, at) in self._codes.items() if now - at > CODE_TTL_S]:
            del self._codes[code]


OAUTH_CODES: Final = web.AppKey("sandbox_oauth_codes", CodeStore)
