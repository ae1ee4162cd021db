"""Read APIs for people: user/get (members), externalcontact/get (customers and their reps) and /list."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.qyapi.reply import QyapiError, api_ok, decode_cursor, encode_cursor
from sandbox.wire import external_contact_json, follow_user_json, member_json

FOLLOW_PAGE: Final = 500


async def user_get(request: web.Request) -> web.Response:
    userid = request.query.get("userid", "")
    if not userid:
        raise QyapiError(41009, "missing userid")
    member = request.app[appkeys.CORP].find_member(userid)
    if member is None:
        raise QyapiError(60111)
    return api_ok(member_json(member))


async def external_contact_get(request: web.Request) -> web.Response:
    """40096 for an id WeCom never issued; 84061 once no rep has the customer any more."""
    corp = request.app[appkeys.CORP]
    external_userid = request.query.get("external_userid", "")
    if not external_userid:
        raise QyapiError(41035)
    customer = corp.customers.get(external_userid)
    if customer is None:
        raise QyapiError(40096)
    follows = list(customer.follows.values())
    if not follows:
        raise QyapiError(84061)
    start = decode_cursor("follow", request.query.get("cursor", ""))
    page = follows[start : start + FOLLOW_PAGE]
    end = start + len(page)
    return api_ok(
        {
            "external_contact": external_contact_json(customer),
            "follow_user": [follow_user_json(corp, follow) for follow in page],
            "next_cursor": encode_cursor("follow", end) if end < len(follows) else "",
        }
    )


async def external_contact_list(request: web.Request) -> web.Response:
    """externalcontact/list: one rep's customers; 84061 when the rep has none (UNCONFIRMED for an empty list)."""
    userid = request.query.get("userid", "")
    if not userid:
        raise QyapiError(41009)
    corp = request.app[appkeys.CORP]
    member = corp.find_member(userid)
    if member is None:
        raise QyapiError(40003)
    ids = [c.external_userid for c in corp.customers.values() if member.userid in c.follows]
    if not ids:
        raise QyapiError(84061)
    return api_ok({"external_userid": ids})


def setup_qyapi_contact(app: web.Application) -> None:
    app.router.add_get("/cgi-bin/user/get", user_get)
    app.router.add_get("/cgi-bin/externalcontact/list", external_contact_list)
    app.router.add_get("/cgi-bin/externalcontact/get", external_contact_get)
