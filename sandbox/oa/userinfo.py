"""GET /oa/cgi-bin/user/info: who an openid is, with the unionid when the OA is bound to an open platform account."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.oa.api import OA_PREFIX, TOKEN_ERRORS, oa_error
from sandbox.oa.model import Follower
from sandbox.qyapi.tokens import TokenCheck
from sandbox.wire import Json

USER_INFO_PATH: Final = f"{OA_PREFIX}/cgi-bin/user/info"
INVALID_OPENID: Final = 40003
LANGUAGES: Final = frozenset({"zh_CN", "zh_TW", "en"})


async def user_info(request: web.Request) -> web.Response:
    """?access_token=&openid=&lang=zh_CN. A follower who left answers only {subscribe: 0, openid, unionid?}."""
    check = request.app[appkeys.OA_TOKENS].check(request.query.get("access_token"))
    if check is not TokenCheck.OK:
        return oa_error(TOKEN_ERRORS[check])
    follower = request.app[appkeys.OA].followers.get(request.query.get("openid", ""))
    if follower is None:
        return oa_error(INVALID_OPENID)
    lang = request.query.get("lang", "zh_CN")
    return web.json_response(follower_info(follower, lang if lang in LANGUAGES else "zh_CN"))


def follower_info(follower: Follower, lang: str) -> Json:
    """The answer as WeChat gives it today: since 2021-12-27 no nickname or avatar, since 2021-10-20 no gender or
    region (empty and zero defaults); `unionid` only when the follower has one. A success carries no errcode."""
    info: Json = {"subscribe": 1 if follower.subscribed else 0, "openid": follower.openid}
    if follower.subscribed:
        info |= {
            "nickname": "",
            "sex": 0,
            "language": lang,
            "city": "",
            "province": "",
            "country": "",
            "headimgurl": "",
            "subscribe_time": follower.subscribe_time,
            "remark": "",
            "groupid": 0,
            "tagid_list": [],
            "subscribe_scene": "ADD_SCENE_OTHERS",
            "qr_scene": 0,
            "qr_scene_str": "",
        }
    if follower.unionid:
        info["unionid"] = follower.unionid
    return info


def setup_oa_user_info(app: web.Application) -> None:
    app.router.add_get(USER_INFO_PATH, user_info)
