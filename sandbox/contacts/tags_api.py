"""Customer-contact APIs around reps and corp tags: get_follow_user_list, get_corp_tag_list and mark_tag."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.model import Corp, Tag
from sandbox.qyapi.reply import QyapiError, api_ok, body_str, json_body
from sandbox.wire import Json

# A rep may put at most this many tags on one customer (WECOM.md §3.5: "up to 3,000 tags").
TAGS_MAX: Final = 3000


async def get_follow_user_list(request: web.Request) -> web.Response:
    """Members who may use customer contact: in the sandbox every active member (all are configured for it)."""
    corp = request.app[appkeys.CORP]
    return api_ok({"follow_user": [m.userid for m in corp.members.values() if m.status == 1]})


def _id_list(body: Json, name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise QyapiError(40058, f"invalid Request Parameter: {name}")
    return value


def _tag_json(tag: Tag) -> Json:
    return {"id": tag.tag_id, "name": tag.name, "create_time": tag.create_time, "order": tag.order, "deleted": False}


async def get_corp_tag_list(request: web.Request) -> web.Response:
    """Both filters empty: every tag. With group_id the tag_id filter is ignored (the doc's rule; the group_id
    filter is UNCONFIRMED in WECOM.md §3.5, wechatpy sends only tag_id). Unknown ids are simply not found."""
    body = await json_body(request)
    tag_ids, group_ids = set(_id_list(body, "tag_id")), set(_id_list(body, "group_id"))
    groups: dict[str, list[Tag]] = {}
    for tag in request.app[appkeys.CORP].tags.values():
        if tag.group_id in group_ids if group_ids else not tag_ids or tag.tag_id in tag_ids:
            groups.setdefault(tag.group_id, []).append(tag)
    tag_group = [
        {
            "group_id": group_id,
            "group_name": tags[0].group_name,
            "create_time": min(tag.create_time for tag in tags),
            "order": tags[0].group_order,
            "deleted": False,
            "tag": [_tag_json(tag) for tag in tags],
        }
        for group_id, tags in groups.items()
    ]
    return api_ok({"tag_group": tag_group})


def _known_tags(corp: Corp, tag_ids: list[str]) -> list[str]:
    for tag_id in tag_ids:
        if tag_id not in corp.tags:
            raise QyapiError(40068, f"invalid tagid: {tag_id}")
    return list(dict.fromkeys(tag_ids))


async def mark_tag(request: web.Request) -> web.Response:
    """Add and remove corp tags on one rep's relationship with one customer; no callback follows.

    WECOM.md §2b quotes "通过API进行的操作不会产生回调" (operations made through the API produce no callback) for the
    customer-contact events: the sandbox takes it as written, so a bot must record its own change when the call
    succeeds (a rep's edit in the client still pushes edit_external_contact: /sandbox/act).
    """
    body = await json_body(request)
    corp = request.app[appkeys.CORP]
    userid, external_userid = body_str(body, "userid"), body_str(body, "external_userid")
    if not userid:
        raise QyapiError(41009)
    member = corp.find_member(userid)
    if member is None:
        raise QyapiError(40003)
    if not external_userid:
        raise QyapiError(41035)
    customer = corp.customers.get(external_userid)
    if customer is None:
        raise QyapiError(40096)
    follow = customer.follows.get(member.userid)
    if follow is None:
        raise QyapiError(84061)
    wanted_add, wanted_remove = _id_list(body, "add_tag"), _id_list(body, "remove_tag")
    if not wanted_add and not wanted_remove:
        raise QyapiError(40058, "invalid Request Parameter: add_tag and remove_tag are both empty")
    add, remove = _known_tags(corp, wanted_add), set(_known_tags(corp, wanted_remove))
    tag_ids = [tag_id for tag_id in follow.tag_ids if tag_id not in remove]
    tag_ids += [tag_id for tag_id in add if tag_id not in tag_ids]
    if len(tag_ids) > TAGS_MAX:
        raise QyapiError(40058, f"invalid Request Parameter: more than {TAGS_MAX} tags")
    follow.tag_ids = tag_ids
    return api_ok()


def setup_qyapi_contact_tags(app: web.Application) -> None:
    app.router.add_get("/cgi-bin/externalcontact/get_follow_user_list", get_follow_user_list)
    app.router.add_post("/cgi-bin/externalcontact/get_corp_tag_list", get_corp_tag_list)
    app.router.add_post("/cgi-bin/externalcontact/mark_tag", mark_tag)
