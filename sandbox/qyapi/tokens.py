"""access_token issue and check: one token per app secret, reissued only after it expires or is revoked."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import IntEnum

from sandbox.clock import Clock
from sandbox.state.codec import from_plain


class TokenCheck(IntEnum):
    OK = 0
    INVALID = 40014
    MISSING = 41001
    EXPIRED = 42001


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class TokenStore:
    def __init__(self, clock: Clock, ttl_s: int) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._current: tuple[str, int] | None = None
        # Tokens that ran out remember it, so they answer 42001 rather than 40014.
        self._expired: set[str] = set()

    def issue(self) -> IssuedToken:
        """The same token while it is valid [D:91039].

        UNCONFIRMED whether a repeat gettoken extends the validity or reports the remaining time; the sandbox
        reports the full TTL and does not extend it, the stricter reading, so a client that trusts expires_in
        from a repeat call meets 42001 and must refresh.
        """
        now = self._clock.epoch()
        if self._current is not None and now < self._current[1]:
            return IssuedToken(self._current[0], self._ttl_s)
        if self._current is not None:
            self._expired.add(self._current[0])
        # 128 URL-safe characters: well inside the 512 bytes clients must reserve.
        token = secrets.token_urlsafe(96)
        self._current = (token, now + self._ttl_s)
        return IssuedToken(token, self._ttl_s)

    def check(self, token: str | None) -> TokenCheck:
        if not token:
            return TokenCheck.MISSING
        if token in self._expired:
            return TokenCheck.EXPIRED
        if self._current is None or token != self._current[0]:
            return TokenCheck.INVALID
        if self._clock.epoch() >= self._current[1]:
            self._expired.add(token)
            self._current = None
            return TokenCheck.EXPIRED
        return TokenCheck.OK

    def snapshot(self) -> dict[str, object]:
        # The most recent expired tokens are enough for a restarted client to get 42001 rather than 40014.
        return {"current": list(self._current) if self._current else None, "expired": sorted(self._expired)[-100:]}

    def restore(self, data: dict[str, object]) -> None:
        current = data.get("current")
        if current is not None:
            token, expires_at = from_plain(tuple[str, int], current)
            self._current = (token, expires_at)
        self._expired = set(from_plain(list[str], data.get("expired", [])))

    def invalidate(self) -> bool:
        """Revoke the current token early, as WeCom may; it then answers 40014 (UNCONFIRMED: 40014 vs 42001)."""
        revoked = self._current is not None
        self._current = None
        return revoked

    def expire(self) -> bool:
        """End the current token now, as if its TTL had run out: it answers 42001 from then on."""
        if self._current is None:
            return False
        self._expired.add(self._current[0])
        self._current = None
        return True
