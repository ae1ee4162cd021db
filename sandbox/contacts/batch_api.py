"""Bulk customer-contact reads: batch/get_by_user (WECOM.md §3.5); get_follow_user_list and get_corp_tag_list are in
qyapi_contact_tags.py."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.model import Corp, Customer, Follow
from sandbox.qyapi.reply import QyapiError, api_ok, body_int, body_str, decode_cursor, encode_cursor, json_body
from sandbox.wire import Json, external_contact_json

USERID_LIST_MAX: Final = 100
LIMIT_MAX: Final = 100
LIMIT_DEFAULT: Final = 50


def _userid_list(body: Json) -> list[str]:
    raw = body.get("userid_list")
    if not isinstance(raw, list) or not all(isinstance(u, str) for u in raw):
        raise QyapiError(40058, "invalid Request Parameter: userid_list")
    if not raw:
        raise QyapiError(40058, "invalid Request Parameter: userid_list is empty")
    # UNCONFIRMED which code a list over the documented 100 gets; 40058 is the sandbox's reading (docs/SANDBOX.md).
    if len(raw) > USERID_LIST_MAX:
        raise QyapiError(40058, f"invalid Request Parameter: userid_list exceeds {USERID_LIST_MAX}")
    return list(dict.fromkeys(raw))


def _pairs(corp: Corp, userids: list[str]) -> list[tuple[Customer, Follow]]:
    """Every (customer, follow) of the listed members, member by member, oldest relationship first; userids the
    corp does not have contribute nothing (UNCONFIRMED: WeCom may list them in fail_info instead)."""
    pairs: list[tuple[Customer, Follow]] = []
    for userid in userids:
        mine = [(c, c.follows[userid]) for c in corp.customers.values() if userid in c.follows]
        mine.sort(key=lambda pair: (pair[1].createtime, pair[0].external_userid))
        pairs.extend(mine)
    return pairs


def _follow_info(follow: Follow) -> Json:
    body: Json = {
        "userid": follow.userid,
        "remark": follow.remark,
        "description": follow.description,
        "createtime": follow.createtime,
        "tag_id": list(follow.tag_ids),
        "remark_corp_name": "",
        "remark_mobiles": list(follow.remark_mobiles),
        "oper_userid": follow.oper_userid,
        "add_way": follow.add_way,
    }
    if follow.state:
        body["state"] = follow.state
    return body


async def batch_get_by_user(request: web.Request) -> web.Response:
    """One item per (customer, member) pair: a customer two listed members have appears twice, as on WeCom."""
    body = await json_body(request)
    userids = _userid_list(body)
    limit = body_int(body, "limit", default=LIMIT_DEFAULT)
    if limit < 1:
        raise QyapiError(40058, "invalid Request Parameter: limit")
    limit = min(limit, LIMIT_MAX)  # the doc: above the maximum, the maximum is used
    start = decode_cursor("byuser", body_str(body, "cursor"))
    corp = request.app[appkeys.CORP]
    pairs = _pairs(corp, userids)
    page = pairs[start : start + limit]
    end = start + len(page)
    return api_ok(
        {
            "external_contact_list": [
                {"external_contact": external_contact_json(customer), "follow_info": _follow_info(follow)}
                for customer, follow in page
            ],
            "next_cursor": encode_cursor("byuser", end) if end < len(pairs) else "",
        }
    )


def setup_qyapi_contact_batch(app: web.Application) -> None:
    app.router.add_post("/cgi-bin/externalcontact/batch/get_by_user", batch_get_by_user)
