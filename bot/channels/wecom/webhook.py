"""GET|POST /wecom/callback: verify, decrypt, parse, store durably, and only then answer 200 with an empty body."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from bot import failpoints
from bot.channel_ports import CallbackInbox
from bot.channels.callback_http import Refused, read_capped, refuse, required_query, store_then_ack
from bot.channels.wecom.crypto import CallbackCrypto, CallbackCryptoError, CryptoFailure
from bot.channels.wecom.parse import CallbackParseError, XmlTooDeep, parse_xml, to_callback
from bot.metrics import Metrics
from services.clock import Clock
from storage.repos.inbound import NewInbound

log = logging.getLogger("qunke.webhook")

SOURCE: Final = "wecom"


@dataclass(frozen=True, slots=True)
class WebhookDeps:
    crypto: CallbackCrypto
    inbox: CallbackInbox
    clock: Clock
    metrics: Metrics
    max_body_bytes: int


WEBHOOK_DEPS: Final = web.AppKey("wecom_webhook", WebhookDeps)


def setup_wecom_webhook(app: web.Application) -> None:
    """Register the routes; the app's start-up sets WEBHOOK_DEPS once the inbox exists."""
    app.router.add_get("/wecom/callback", verify_url)
    app.router.add_post("/wecom/callback", receive_callback)


def _refuse(request: web.Request, deps: WebhookDeps, refused: Refused) -> web.Response:
    return refuse(request, deps.metrics, log, "wecom", refused)


async def verify_url(request: web.Request) -> web.Response:
    """URL verification: echo the decrypted echostr as plain text (WeCom allows 1 s)."""
    deps = request.app[WEBHOOK_DEPS]
    try:
        signature, timestamp, nonce, echostr = required_query(request, "msg_signature", "timestamp", "nonce", "echostr")
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
    return await store_then_ack(
        deps.inbox,
        deps.metrics,
        row,
        started,
        lambda: web.Response(status=200, body=b""),
        # crash tests: committed, but WeCom never hears the 200
        after_commit=lambda: failpoints.hit("webhook.after_commit"),
    )


async def _decode(request: web.Request, deps: WebhookDeps) -> NewInbound:
    signature, timestamp, nonce = required_query(request, "msg_signature", "timestamp", "nonce")
    raw = await read_capped(request, deps.max_body_bytes)
    try:
        text = raw.decode("utf-8")
        envelope = parse_xml(text)
    except UnicodeDecodeError:
        raise Refused(400, "bad_encoding") from None
    except XmlTooDeep as exc:
        raise Refused(400, "xml_too_deep", str(exc)) from None
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


def _decrypted(deps: WebhookDeps, signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """Verify and decrypt, turning crypto failures into refusals: forgeries 403, broken ciphertext 400."""
    try:
        deps.crypto.verify(signature, timestamp, nonce, encrypted)
        return deps.crypto.decrypt(encrypted)
    except CallbackCryptoError as exc:
        forged = exc.failure in (CryptoFailure.BAD_SIGNATURE, CryptoFailure.WRONG_RECEIVER)
        raise Refused(403 if forged else 400, exc.failure.value) from None
