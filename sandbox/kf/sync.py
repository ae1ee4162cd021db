"""kf/sync_msg: callback tokens, the token-less rate limit, signed cursors and 3-day paging."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from bisect import bisect_right
from collections import deque
from typing import Final

from sandbox.ids import IdFactory
from sandbox.kf.errors import kf_error
from sandbox.kf.model import RETENTION_S, TOKEN_TTL_S, IssuedToken, KfStore, StreamItem
from sandbox.wire import Json

LIMIT_MAX: Final = 1000
CURSOR_MAX_BYTES: Final = 64
TOKEN_MAX_BYTES: Final = 128
MAC_BYTES: Final = 12
# Without a token "接口有严格的频率限制" (a strict rate limit). The figure is UNCONFIRMED: the sandbox allows
# 3 calls a minute per scope (one open_kfid, or all accounts), so a bot that polls without tokens is caught.
UNTOKENED_PER_MIN: Final = 3


def issue_token(store: KfStore, ids: IdFactory, open_kfid: str, now: int) -> str:
    forget_expired_tokens(store, now)
    token = ids.kf_token()
    store.tokens[token] = IssuedToken(open_kfid, now + TOKEN_TTL_S)
    return token


def forget_expired_tokens(store: KfStore, now: int) -> None:
    """Expired tokens answer 95007 just like unknown ones, so they are forgotten. Every token lives TOKEN_TTL_S from
    its issue, so the dict (in issue order) expires from the front: a few pops per issue, where rebuilding it
    whole once 1,024 were kept cost a scan of every live token per kf message under load."""
    while store.tokens:
        oldest = next(iter(store.tokens))
        if now < store.tokens[oldest].expires_at:
            return
        del store.tokens[oldest]


def _check_token(store: KfStore, token: str, scope: str, now: int) -> None:
    """95007 for a token never issued, older than 10 minutes, or issued for another account.

    UNCONFIRMED whether a token is tied to the account of its callback; the sandbox ties it, the stricter reading.
    """
    issued = store.tokens.get(token)
    if issued is None:
        raise kf_error(95007, "unknown token")
    if now >= issued.expires_at:
        raise kf_error(95007, "token expired")
    if scope and issued.open_kfid != scope:
        raise kf_error(95007, "token belongs to another open_kfid")


def _check_rate(store: KfStore, scope: str, now: int) -> None:
    calls = store.untokened_calls.setdefault(scope, deque())
    while calls and calls[0] <= now - 60:
        calls.popleft()
    if len(calls) >= UNTOKENED_PER_MIN:
        raise kf_error(45009, f"sync_msg without token: at most {UNTOKENED_PER_MIN} calls a minute")
    calls.append(now)


def _scope_tag(store: KfStore, scope: str) -> int:
    """0 for all accounts, else the account's position (from 1): short, so cursors stay far below 64 bytes."""
    return list(store.accounts).index(scope) + 1 if scope else 0


def encode_cursor(store: KfStore, scope: str, seq: int) -> str:
    body = f"{_scope_tag(store, scope)}:{seq}".encode()
    mac = hmac.new(store.cursor_key, body, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")


def decode_cursor(store: KfStore, scope: str, cursor: str) -> int:
    """The stream position after which to resume.

    A cursor this sandbox did not sign, or one issued for another open_kfid, answers 40058 (UNCONFIRMED code).
    """
    if not cursor:
        return 0
    if len(cursor.encode()) > CURSOR_MAX_BYTES:
        raise kf_error(40058, f"cursor exceeds {CURSOR_MAX_BYTES} bytes")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise kf_error(40058, "invalid cursor") from None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    expected = hmac.new(store.cursor_key, body, hashlib.sha256).digest()[:MAC_BYTES]
    if len(raw) <= MAC_BYTES or not hmac.compare_digest(mac, expected):
        raise kf_error(40058, "invalid cursor")
    tag, _, seq = body.decode().partition(":")
    if int(tag) != _scope_tag(store, scope):
        raise kf_error(40058, "cursor belongs to another open_kfid")
    return int(seq)


def _int_field(body: Json, name: str, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise kf_error(40058, name)
    return value


def _str_field(body: Json, name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise kf_error(40058, name)
    return value


def sync_msg(store: KfStore, body: Json, now: int) -> Json:
    """Messages after the cursor, oldest first, never older than 3 days, never the API's own sends."""
    scope = _str_field(body, "open_kfid")
    if not scope:
        # Required since the 2024 doc; WeCom's own text for an empty one (WECOM.md §2d).
        raise kf_error(40058, "field open_kfid unexpected empty string")
    if scope not in store.accounts:
        raise kf_error(95000, scope)
    token = _str_field(body, "token")
    if len(token.encode()) > TOKEN_MAX_BYTES:
        raise kf_error(40058, f"token exceeds {TOKEN_MAX_BYTES} bytes")
    if token:
        _check_token(store, token, scope, now)
    else:
        _check_rate(store, scope, now)
    # UNCONFIRMED whether 0 means "the default"; the sandbox refuses anything outside 1-1000.
    limit = _int_field(body, "limit", LIMIT_MAX)
    if not 1 <= limit <= LIMIT_MAX:
        raise kf_error(40058, f"limit must be 1-{LIMIT_MAX}")
    if _int_field(body, "voice_format", 0) not in (0, 1):
        raise kf_error(40058, "voice_format")
    after = decode_cursor(store, scope, _str_field(body, "cursor"))
    cutoff = now - RETENTION_S
    start = bisect_right(store.stream, after, key=lambda item: item.seq)
    page: list[StreamItem] = []
    more = False
    for item in store.stream[start:]:
        if item.send_time < cutoff or item.open_kfid != scope:
            continue
        if len(page) == limit:
            more = True
            break
        page.append(item)
    last = page[-1].seq if page else after
    return {
        "next_cursor": encode_cursor(store, scope, last),
        "has_more": 1 if more else 0,
        "msg_list": [item.item for item in page],
    }
