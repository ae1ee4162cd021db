"""Bulk customer-contact reads: get_follow_user_list, batch/get_by_user and get_corp_tag_list (WECOM.md §3.5)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from . import appkeys
from .model import Corp, Customer, Follow
from .qyapi_reply import QyapiError, api_ok, body_int, body_str, decode_cursor, encode_cursor, json_body
from .wire import Json, external_contact_json

USERID_LIST_MAX: Final = 100
LIMIT_MAX: Final = 100
LIMIT_DEFAULT: Final = 50


async def get_follow_user_list(request: web.Request) -> web.Response:
    """The members who may have customers (客户联系 configured); in the sandbox every active member may."""
    corp = request.app[appkeys.CORP]
    return api_ok({"follow_user": [m.userid for m in corp.members.values() if m.status == 1]})


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


async def get_corp_tag_list(request: web.Request) -> web.Response:
    """{"tag_id":[…]} filters by tag; an empty body lists every tag group with its tags."""
    body = await json_body(request)
    wanted = body.get("tag_id") or []
    if not isinstance(wanted, list) or not all(isinstance(t, str) for t in wanted):
        raise QyapiError(40058, "invalid Request Parameter: tag_id")
    corp = request.app[appkeys.CORP]
    groups: dict[str, Json] = {}
    for order, tag in enumerate(corp.tags.values()):
        if wanted and tag.tag_id not in wanted:
            continue
        group = groups.setdefault(
            tag.group_id,
            {"group_id": tag.group_id, "group_name": tag.group_name, "create_time": 0, "order": 0, "tag": []},
        )
        tags = group["tag"]
        assert isinstance(tags, list)
        tags.append({"id": tag.tag_id, "name": tag.name, "create_time": 0, "order": order})
    return api_ok({"tag_group": list(groups.values())})


def setup_qyapi_contact_batch(app: web.Application) -> None:
    app.router.add_get("/cgi-bin/externalcontact/get_follow_user_list", get_follow_user_list)
    app.router.add_post("/cgi-bin/externalcontact/batch/get_by_user", batch_get_by_user)
    app.router.add_post("/cgi-bin/externalcontact/get_corp_tag_list", get_corp_tag_list)
