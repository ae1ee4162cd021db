"""POST /oa/cgi-bin/message/template/send: an OA template message, which needs no open window but a follower.

Wire format (service accounts; developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface):
{"touser": openid, "template_id": id, "url": optional, "data": {"<key>": {"value": "..."}}} answers
{"errcode": 0, "errmsg": "ok", "msgid": n}. Refusals: 40037 unknown template_id, 40003 unknown openid,
43004 the user does not follow (any more), 47003 a data key the template does not have or a value that is not text.

The account's templates are the demo's below plus SANDBOX_OA_TEMPLATES ("id:key1|key2,id2:key1"). UNCONFIRMED: the
exact field-length limits per key type (thing ≤ 20 characters ...); the sandbox does not check them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.config import SandboxConfigError
from sandbox.oa.api import ERRMSG, OA_PREFIX, TOKEN_ERRORS, OAError, _json, oa_error
from sandbox.qyapi.tokens import TokenCheck
from sandbox.wire import Json

ENV: Final = "SANDBOX_OA_TEMPLATES"
DEMO_TEMPLATES: Final = {
    # 活动通知: 活动名称 / 活动时间 / 温馨提示
    "qunke_demo_activity": ("thing1", "time2", "thing3"),
    # 续费提醒: 服务名称 / 到期时间
    "qunke_demo_renewal": ("thing1", "time2"),
}
ERRMSG.setdefault(40037, "invalid template_id")
ERRMSG.setdefault(47003, "argument invalid! data.keyword invalid")
TEMPLATES: Final = web.AppKey("sandbox_oa_templates", dict)


@dataclass(frozen=True, slots=True)
class OATemplateSend:
    """One template/send call for the delivery log: `oa_template` when delivered, `oa_template_rejected` if not."""

    touser: str
    template_id: str
    errcode: int
    text: str  # the fields as the follower reads them, "key: value" per line
    url: str

    @property
    def kind(self) -> str:
        return "oa_template" if self.errcode == 0 else "oa_template_rejected"

    def fields(self) -> Json:
        return {"touser": self.touser, "template_id": self.template_id, "errcode": self.errcode, "text": self.text,
                "url": self.url}  # fmt: skip


def parse_templates(raw: str) -> dict[str, tuple[str, ...]]:
    """ "id:key1|key2,id2:key1" -> {"id": ("key1", "key2"), ...}; a one-line error naming the bad entry."""
    found: dict[str, tuple[str, ...]] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        template_id, sep, keys = entry.partition(":")
        fields = tuple(k.strip() for k in keys.split("|") if k.strip())
        if not sep or not template_id.strip() or not fields:
            raise SandboxConfigError(f"{ENV}: expected template_id:key1|key2, got {entry!r}")
        found[template_id.strip()] = fields
    return found


def templates_from_env() -> dict[str, tuple[str, ...]]:
    return {**DEMO_TEMPLATES, **parse_templates(os.environ.get(ENV, ""))}


def _message(app: web.Application, body: Json) -> tuple[str, str, str, str]:
    """(openid, template_id, text, url) of a valid request, or the OAError WeChat would answer."""
    template_id, touser, url, data = body.get("template_id"), body.get("touser"), body.get("url", ""), body.get("data")
    keys = app[TEMPLATES].get(template_id) if isinstance(template_id, str) else None
    if keys is None:
        raise OAError(40037)
    follower = app[appkeys.OA].followers.get(touser) if isinstance(touser, str) else None
    if follower is None:
        raise OAError(40003)
    if not follower.subscribed:
        raise OAError(43004)
    if not isinstance(data, dict) or not data or not isinstance(url, str):
        raise OAError(47001)
    lines = []
    for key, field in data.items():
        value = field.get("value") if isinstance(field, dict) else None
        if key not in keys or not isinstance(value, str):
            raise OAError(47003)
        lines.append(f"{key}: {value}")
    return follower.openid, str(template_id), "\n".join(lines), url


async def template_send(request: web.Request) -> web.Response:
    app = request.app
    body: Json = {}
    try:
        check = app[appkeys.OA_TOKENS].check(request.query.get("access_token"))
        if check is not TokenCheck.OK:
            raise OAError(TOKEN_ERRORS[check])
        body = _json(await request.read())
        openid, template_id, text, url = _message(app, body)
    except OAError as error:
        touser, template = body.get("touser", ""), body.get("template_id", "")
        app[appkeys.LOG].append(OATemplateSend(str(touser), str(template), error.code, "", ""))
        return oa_error(error.code)
    app[appkeys.OA].record(openid, "out", "template", text, app[appkeys.CLOCK].epoch())
    app[appkeys.LOG].append(OATemplateSend(openid, template_id, 0, text, url))
    msgid = len(app[appkeys.OA].transcript) + 200_000_000
    return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": msgid})


def setup_oa_template(app: web.Application) -> None:
    """The route, and the account's templates (the demo's plus SANDBOX_OA_TEMPLATES)."""
    app[TEMPLATES] = templates_from_env()
    app.router.add_post(f"{OA_PREFIX}/cgi-bin/message/template/send", template_send)
