"""GET|POST /wechat/callback: check the signature, decrypt with wechatpy's OA crypto, store, then answer `success`."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.channel_ports import CallbackInbox
from bot.channels.callback_http import Refused, read_capped, refuse, required_query, store_then_ack
from bot.channels.wecom.parse import CallbackParseError, XmlTooDeep, parse_xml
from bot.metrics import Metrics
from services.clock import Clock
from storage.repos.inbound import NewInbound

log = logging.getLogger("qunke.officialaccount")

SOURCE: Final = "oa"


@dataclass(frozen=True, slots=True)
class OaWebhookDeps:
    token: str
    crypto: WeChatCrypto
    app_id: str
    inbox: CallbackInbox
    clock: Clock
    metrics: Metrics
    max_body_bytes: int


OA_WEBHOOK_DEPS: Final = web.AppKey("oa_webhook", OaWebhookDeps)


def setup_oa_webhook(app: web.Application) -> None:
    app.router.add_get("/wechat/callback", verify_url)
    app.router.add_post("/wechat/callback", receive_callback)


def signature_ok(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """The plain OA signature: sha1 of the sorted token, timestamp and nonce."""
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8", "replace")).hexdigest()
    # Bytes, not str: compare_digest raises TypeError on a non-ASCII str (a 500 for anyone who sends one).
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _refuse(request: web.Request, deps: OaWebhookDeps, refused: Refused) -> web.Response:
    return refuse(request, deps.metrics, log, "official account", refused, label="oa_")


async def verify_url(request: web.Request) -> web.Response:
    """Server configuration check: a valid signature gets the echostr back as it came."""
    deps = request.app[OA_WEBHOOK_DEPS]
    try:
        signature, timestamp, nonce, echostr = required_query(request, "signature", "timestamp", "nonce", "echostr")
        if not signature_ok(deps.token, signature, timestamp, nonce):
            raise Refused(403, "bad_signature")
    except Refused as refused:
        return _refuse(request, deps, refused)
    return web.Response(text=echostr, content_type="text/plain")


async def receive_callback(request: web.Request) -> web.Response:
    deps = request.app[OA_WEBHOOK_DEPS]
    started = time.perf_counter()
    try:
        row = await _decode(request, deps)
    except Refused as refused:
        return _refuse(request, deps, refused)
    # "success" tells WeChat there is no passive reply; answers go out later as customer-service messages.
    return await store_then_ack(
        deps.inbox, deps.metrics, row, started, lambda: web.Response(status=200, text="success"), label="oa_"
    )


async def _decode(request: web.Request, deps: OaWebhookDeps) -> NewInbound:
    signature, timestamp, nonce = required_query(request, "signature", "timestamp", "nonce")
    if not signature_ok(deps.token, signature, timestamp, nonce):
        raise Refused(403, "bad_signature")
    if request.query.get("encrypt_type") != "aes":
        # Safe mode is configured: a plaintext body would be a downgrade anyone who can sign could not do, but we
        # accept nothing weaker than what the account is set to.
        raise Refused(400, "not_encrypted", request.query.get("encrypt_type", "plain"))
    (msg_signature,) = required_query(request, "msg_signature")
    raw = await read_capped(request, deps.max_body_bytes)
    try:
        envelope = parse_xml(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Refused(400, "bad_encoding") from None
    except XmlTooDeep as exc:
        raise Refused(400, "xml_too_deep", str(exc)) from None
    except CallbackParseError as exc:
        raise Refused(400, "bad_envelope", str(exc)) from None
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise Refused(400, "bad_envelope", "no Encrypt element")
    plain = _decrypt(deps, {"Encrypt": encrypted}, msg_signature, timestamp, nonce)
    try:
        fields = parse_xml(plain)
    except CallbackParseError as exc:
        raise Refused(400, "bad_message", str(exc)) from None
    msg_type = fields.get("MsgType")
    if not isinstance(msg_type, str) or not msg_type:
        raise Refused(400, "bad_message", "MsgType missing")
    return NewInbound(
        dedupe_key=oa_dedupe_key(fields),
        source=SOURCE,
        kind=(f"event/{str(fields.get('Event', '')).lower()}" if msg_type == "event" else msg_type)[:96],
        payload=plain,
        received_at=deps.clock.now(),
    )


def oa_dedupe_key(fields: dict[str, str | list[str]]) -> str:
    """MsgId for messages; FromUserName + CreateTime (+ event) for events (WECOM.md §4)."""
    msg_id = fields.get("MsgId")
    if isinstance(msg_id, str) and msg_id:
        return f"oa:msg:{msg_id}"
    parts = [str(fields.get(k, "")) for k in ("FromUserName", "CreateTime", "Event", "EventKey")]
    return ("oa:evt:" + ":".join(parts))[:160]


def _decrypt(deps: OaWebhookDeps, envelope: dict[str, str], signature: str, timestamp: str, nonce: str) -> str:
    try:
        plain = deps.crypto.decrypt_message(envelope, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise Refused(403, "bad_signature", "msg_signature") from None
    except InvalidAppIdException:
        raise Refused(403, "wrong_app_id") from None
    except Exception as exc:  # corrupt base64, padding or length: wechatpy raises whatever the decoder raised
        raise Refused(400, "bad_ciphertext", type(exc).__name__) from None
    return str(plain)
