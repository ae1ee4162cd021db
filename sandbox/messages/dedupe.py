"""message/send's duplicate check: an identical request within its interval is answered ok but not delivered."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Final

from sandbox.messages.body import MessageContent
from sandbox.messages.recipients import Recipients
from sandbox.qyapi.reply import QyapiError, body_int
from sandbox.wire import Json

DEFAULT_INTERVAL_S: Final = 1800
MAX_INTERVAL_S: Final = 4 * 3600


@dataclass(frozen=True, slots=True)
class DuplicateCheck:
    enabled: bool
    interval_s: int


@dataclass(frozen=True, slots=True)
class Sent:
    at: int
    msgid: str


def duplicate_check(body: Json) -> DuplicateCheck:
    """enable_duplicate_check 0|1 and duplicate_check_interval (default 1800 s, at most 4 h [D:90236]).

    UNCONFIRMED whether WeCom clamps or refuses an interval above 4 h or below 1 s; the sandbox refuses it
    with 40058, the stricter reading.
    """
    enabled = body_int(body, "enable_duplicate_check", default=0)
    interval = body_int(body, "duplicate_check_interval", default=DEFAULT_INTERVAL_S)
    if enabled not in (0, 1):
        raise QyapiError(40058, "invalid Request Parameter: enable_duplicate_check")
    if not 0 < interval <= MAX_INTERVAL_S:
        raise QyapiError(40058, f"invalid Request Parameter: duplicate_check_interval must be 1-{MAX_INTERVAL_S}")
    return DuplicateCheck(enabled == 1, interval)


def request_key(agentid: int, content: MessageContent, recipients: Recipients) -> str:
    """Same app, same message (type and body) and same recipients as asked for; safe and id-trans flags aside."""
    canonical = json.dumps(
        [agentid, content.msgtype, content.payload, recipients.key],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class DuplicateChecker:
    """Remembers requests sent with the check on.

    UNCONFIRMED: WeCom does not say whether a request sent without the flag is remembered for a later one that
    sets it. The sandbox remembers only flagged requests and measures the window with the later request's
    interval, the stricter reading: a bot must set the flag on the first send, not only on the retry.
    """

    def __init__(self) -> None:
        self._sent: dict[str, Sent] = {}

    def previous(self, key: str, now: int, interval_s: int) -> Sent | None:
        self._forget_before(now - MAX_INTERVAL_S)
        sent = self._sent.get(key)
        if sent is not None and now - sent.at < interval_s:
            return sent
        return None

    def remember(self, key: str, now: int, msgid: str) -> None:
        # Re-inserted at the end, so the dict stays in time order and old entries fall off its front.
        self._sent.pop(key, None)
        self._sent[key] = Sent(now, msgid)

    def _forget_before(self, cutoff: int) -> None:
        while self._sent:
            key, sent = next(iter(self._sent.items()))
            if sent.at > cutoff:
                return
            del self._sent[key]
