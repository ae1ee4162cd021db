"""GET|POST /wecom/callback: verify, decrypt, parse, store durably, and only then answer 200 with an empty body."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from bot import failpoints
from bot.channels.wecom.crypto import CallbackCrypto, CallbackCryptoError, CryptoFailure
from bot.channels.wecom.parse import CallbackParseError, parse_xml, to_callback
from bot.inbox import InboxClosed, InboxWriter
from bot.metrics import Metrics
from services.clock import Clock
from storage.repos.inbound import NewInbound

log = logging.getLogger("qunke.webhook")

SOURCE: Final = "wecom"
_CHUNK: Final = 16384


@dataclass(frozen=True, slots=True)
class WebhookDeps:
    crypto: CallbackCrypto
    inbox: InboxWriter
    clock: Clock
    metrics: Metrics
    max_body_bytes: int


WEBHOOK_DEPS: Final = web.AppKey("wecom_webhook", WebhookDeps)


class Refused(Exception):
    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.status, self.reason, self.detail = status, reason, detail


def setup_wecom_webhook(app: web.Application) -> None:
    """Register the routes; the app's start-up sets WEBHOOK_DEPS once the inbox exists."""
    app.router.add_get("/wecom/callback", verify_url)
    app.router.add_post("/wecom/callback", receive_callback)


def _query(request: web.Request, *names: str) -> list[str]:
    values = [request.query.get(name, "") for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise Refused(400, "missing_query", ",".join(missing))
    return values


def _refuse(request: web.Request, deps: WebhookDeps, refused: Refused) -> web.Response:
    deps.metrics.refused.labels(refused.reason).inc()
    log.warning(
        "wecom callback refused: %s %s from %s%s",
        refused.reason,
        request.method,
        request.remote,
        f" ({refused.detail})" if refused.detail else "",
    )
    return web.Response(status=refused.status, text=refused.reason)


async def verify_url(request: web.Request) -> web.Response:
    """URL verification: echo the decrypted echostr as plain text (WeCom allows 1 s)."""
    deps = request.app[WEBHOOK_DEPS]
    try:
        signature, timestamp, nonce, echostr = _query(request, "msg_signature", "timestamp", "nonce", "echostr")
        plain = _decrypted(deps, signature, timestamp, nonce, echostr)
    except Refused as refused:
        return _refuse(request, deps, refused)
    log.info("wecom callback URL verified")
    return web.Response(text=plain, content_type="text/plain")


async def receive_callback(request: web.Request) -> web.Response:
    deps = request.app[WEBHOOK_DEPS]
    started = time.perf_counter()
    try:
        row = await _decode(request, deps)
    except Refused as refused:
        return _refuse(request, deps, refused)
    try:
        is_new = await deps.inbox.store(row)
    except InboxClosed:
        deps.metrics.callbacks.labels("unavailable").inc()
        return web.Response(status=503, text="shutting down")
    except Exception:  # the inbox writer logged it; WeCom retries a non-200
        deps.metrics.callbacks.labels("store_failed").inc()
        return web.Response(status=503, text="storage unavailable")
    failpoints.hit("webhook.after_commit")  # crash tests: committed, but WeCom never hears the 200
    deps.metrics.callbacks.labels("stored" if is_new else "duplicate").inc()
    deps.metrics.ack_seconds.observe(time.perf_counter() - started)
    return web.Response(status=200, body=b"")


async def _decode(request: web.Request, deps: WebhookDeps) -> NewInbound:
    signature, timestamp, nonce = _query(request, "msg_signature", "timestamp", "nonce")
    raw = await read_capped(request, deps.max_body_bytes)
    try:
        text = raw.decode("utf-8")
        envelope = parse_xml(text)
    except UnicodeDecodeError:
        raise Refused(400, "bad_encoding") from None
    except CallbackParseError as exc:
        raise Refused(400, "bad_envelope", str(exc)) from None
    encrypted, to_user = envelope.get("Encrypt"), envelope.get("ToUserName")
    if not isinstance(encrypted, str) or not encrypted:
        raise Refused(400, "bad_envelope", "no Encrypt element")
    plain = _decrypted(deps, signature, timestamp, nonce, encrypted)
    if isinstance(to_user, str) and to_user and to_user != deps.crypto.receive_id:
        raise Refused(403, "wrong_corp_id", to_user[:64])
    try:
        callback = to_callback(parse_xml(plain))
    except CallbackParseError as exc:
        raise Refused(400, "bad_message", str(exc)) from None
    return NewInbound(
        dedupe_key=callback.dedupe_key,
        source=SOURCE,
        kind=callback.kind[:96],
        payload=plain,
        received_at=deps.clock.now(),
    )


async def read_capped(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, "body_too_large", f"{request.content_length} bytes")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise Refused(413, "body_too_large", f"over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decrypted(deps: WebhookDeps, signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """Verify and decrypt, turning crypto failures into refusals: forgeries 403, broken ciphertext 400."""
    try:
        deps.crypto.verify(signature, timestamp, nonce, encrypted)
        return deps.crypto.decrypt(encrypted)
    except CallbackCryptoError as exc:
        forged = exc.failure in (CryptoFailure.BAD_SIGNATURE, CryptoFailure.WRONG_RECEIVER)
        raise Refused(403 if forged else 400, exc.failure.value) from None
