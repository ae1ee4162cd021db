"""The simulated WeCom web login page (`/wwlogin/sso/login`), its confirmation, and `/cgi-bin/auth/getuserinfo`.

Real WeCom shows a QR code the member scans; here the member is picked from the corp's list. The redirect back
carries `code` and `state` like WeCom's; the code is exchanged once, within five minutes, for the member's userid
(or an openid for a WeChat user outside the corp), as documented for 获取用户登录身份 (developer.work.weixin.qq.com
/document/path/98177)."""

from __future__ import annotations

import hashlib
from html import escape
from typing import Final
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from sandbox import appkeys
from sandbox.oauth.codes import OAUTH_CODES, CodeStore, Identity
from sandbox.qyapi.reply import QyapiError, api_ok

LOGIN_PATH: Final = "/wwlogin/sso/login"
CONFIRM_PATH: Final = "/wwlogin/sso/confirm"
GETUSERINFO_PATH: Final = "/cgi-bin/auth/getuserinfo"
STATE_MAX: Final = 128
CODE_MAX: Final = 512
OUTSIDER: Final = "__wechat_user__"  # the page's choice for "a WeChat user who is not a member"


def _problem(text: str) -> web.Response:
    return web.Response(
        status=400, text=_page("无法登录", f'<p class="error">{escape(text)}</p>'), content_type="text/html"
    )


def _checked(request: web.Request, values: dict[str, str]) -> str | None:
    """What is wrong with the login request, in the words a member would see; None when it is usable."""
    config = request.app[appkeys.CONFIG]
    if values.get("login_type", "CorpApp") != "CorpApp":
        return "login_type 只支持 CorpApp（企业自建应用登录）"
    if values.get("appid") != config.corp_id:
        return "appid 与企业 CorpID 不一致"
    target = urlsplit(values.get("redirect_uri", ""))
    if target.scheme not in ("http", "https") or not target.netloc:
        return "redirect_uri 缺失或不是 http(s) 地址"
    if len(values.get("state", "")) > STATE_MAX:
        return f"state 超过 {STATE_MAX} 个字节"
    return None


async def login_page(request: web.Request) -> web.Response:
    values = {k: request.query.get(k, "") for k in ("login_type", "appid", "agentid", "redirect_uri", "state")}
    problem = _checked(request, values)
    if problem is not None:
        return _problem(problem)
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in values.items())
    corp = request.app[appkeys.CORP]
    choices = "".join(
        f'<button name="userid" value="{escape(m.userid)}" data-userid="{escape(m.userid)}">'
        f"{escape(m.name)}（{escape(m.userid)}）</button>"
        for m in corp.members.values()
        if m.status == 1
    )
    body = (
        f'<p>模拟扫码：选择以哪位成员身份登录</p><form method="post" action="{CONFIRM_PATH}" class="members">{hidden}'
        f'{choices}<button name="userid" value="{OUTSIDER}" class="outsider">非企业成员（微信用户）</button></form>'
    )
    return web.Response(text=_page("企业微信登录（沙箱）", body), content_type="text/html")


async def confirm(request: web.Request) -> web.Response:
    form = await request.post()
    values = {k: str(form.get(k, "")) for k in ("login_type", "appid", "agentid", "redirect_uri", "state")}
    problem = _checked(request, values)
    if problem is not None:
        return _problem(problem)
    userid = str(form.get("userid", ""))
    if userid == OUTSIDER:
        who = Identity(openid="o" + hashlib.sha256(request.app[appkeys.CONFIG].corp_id.encode()).hexdigest()[:27])
    elif request.app[appkeys.CORP].members.get(userid) is not None:
        who = Identity(userid=userid)
    else:
        return _problem(f"没有成员 {userid}")
    code = request.app[OAUTH_CODES].issue(who)
    target = values["redirect_uri"]
    joiner = "&" if urlsplit(target).query else "?"
    raise web.HTTPFound(target + joiner + urlencode({"code": code, "state": values["state"]}))


async def getuserinfo(request: web.Request) -> web.Response:
    """The access_token gate in front (qyapi_middleware) already checked the token."""
    code = request.query.get("code", "")
    if not code:
        raise QyapiError(41008, "missing oauth code")
    who = request.app[OAUTH_CODES].redeem(code[:CODE_MAX])
    if who is None:
        raise QyapiError(40029, "invalid code")
    return api_ok({"userid": who.userid} if who.userid else {"openid": who.openid})


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;max-width:420px;margin:40px auto;}}"
        "form.members{display:flex;flex-direction:column;gap:8px}button{padding:10px;font-size:15px}"
        ".error{color:#b91c1c}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def setup_oauth(app: web.Application) -> None:
    app[OAUTH_CODES] = CodeStore(app[appkeys.CLOCK])
    app.router.add_get(LOGIN_PATH, login_page)
    app.router.add_post(CONFIRM_PATH, confirm)
    app.router.add_get(GETUSERINFO_PATH, getuserinfo)
