"""POST /cgi-bin/externalcontact/send_welcome_msg: one welcome message per WelcomeCode, within 20 s (WECOM.md §3.6)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.qyapi.reply import QyapiError, api_ok, body_str, json_body
from sandbox.wire import Json

WELCOME_CODE_TTL_S: Final = 20
ATTACHMENTS_MAX: Final = 9
TEXT_MAX_BYTES: Final = 4000


@dataclass(frozen=True, slots=True)
class WelcomeMessage:
    """A welcome message delivered to the customer who just added the rep (delivery-log record)."""

    userid: str
    external_userid: str
    welcome_code: str
    content: str
    attachments: int

    @property
    def kind(self) -> str:
        return "welcome_message"

    def fields(self) -> Json:
        return asdict(self)


def _content(body: Json) -> tuple[str, list[object]]:
    text = body.get("text", {})
    content = text.get("content", "") if isinstance(text, dict) else None
    attachments = body.get("attachments", [])
    if not isinstance(content, str) or not isinstance(attachments, list):
        raise QyapiError(40058, "invalid Request Parameter: text or attachments")
    if not content and not attachments:
        raise QyapiError(40058, "invalid Request Parameter: text and attachments are both empty")
    if len(content.encode()) > TEXT_MAX_BYTES:
        raise QyapiError(45002)
    if len(attachments) > ATTACHMENTS_MAX:
        raise QyapiError(41064)
    return content, attachments


async def send_welcome_msg(request: web.Request) -> web.Response:
    """41049 without a code. An unknown, used or expired code answers 40058 (UNCONFIRMED: WeCom's code for each
    is not documented; 41051 is kept for "already chatted", which the sandbox does not model)."""
    body = await json_body(request)
    value = body_str(body, "welcome_code")
    if not value:
        raise QyapiError(41049)
    content, attachments = _content(body)
    corp = request.app[appkeys.CORP]
    code = corp.welcome_codes.get(value)
    now = request.app[appkeys.CLOCK].epoch()
    if code is None:
        raise QyapiError(40058, "invalid welcome_code")
    if code.used:
        raise QyapiError(40058, "welcome_code already used")
    if now >= code.issued_at + WELCOME_CODE_TTL_S:
        raise QyapiError(40058, "welcome_code expired")
    code.used = True
    record = WelcomeMessage(code.userid, code.external_userid, code.code, content, len(attachments))
    request.app[appkeys.LOG].append(record)
    return api_ok()


def setup_qyapi_welcome(app: web.Application) -> None:
    app.router.add_post("/cgi-bin/externalcontact/send_welcome_msg", send_welcome_msg)
