"""get_follow_user_list, batch/get_by_user and get_corp_tag_list over the seeded demo corp."""

from __future__ import annotations

from typing import Any

from tests.sandbox.sandbox_api import Client, customer_named, get_json, post_json, state, token

BY_USER = "/cgi-bin/externalcontact/batch/get_by_user"


async def _by_user(sandbox: Client, body: dict[str, Any]) -> dict[str, Any]:
    status, data = await post_json(sandbox, BY_USER, body, access_token=await token(sandbox))
    assert status == 200
    return data


async def test_follow_user_list_names_every_member_when_asked(sandbox: Client) -> None:
    data = await get_json(sandbox, "/cgi-bin/externalcontact/get_follow_user_list", access_token=await token(sandbox))
    assert data["errcode"] == 0
    assert {"zhangsan", "lisi", "wangwu", "zhaoliu"} <= set(data["follow_user"])


async def test_batch_get_by_user_returns_follow_info_with_tag_ids_when_member_has_contacts(sandbox: Client) -> None:
    corp = await state(sandbox)
    liu = customer_named(corp, "大刘")
    data = await _by_user(sandbox, {"userid_list": ["wangwu"], "limit": 100})
    assert data["errcode"] == 0 and data["next_cursor"] == ""
    item = next(
        i for i in data["external_contact_list"] if i["external_contact"]["external_userid"] == liu["external_userid"]
    )
    assert item["external_contact"]["name"] == "大刘"
    follow = item["follow_info"]
    assert (follow["userid"], follow["remark"]) == ("wangwu", "大刘-售后咨询")
    names = {t["tag_id"]: t["name"] for g in corp["tag_groups"] for t in g["tags"]}
    assert [names[t] for t in follow["tag_id"]] == ["普通"]
    assert "tags" not in follow  # batch answers carry tag ids only
    assert isinstance(follow["createtime"], int) and isinstance(follow["add_way"], int)


async def test_batch_get_by_user_pages_every_pair_once_when_limit_is_small(sandbox: Client) -> None:
    everyone = ["zhangsan", "lisi", "wangwu", "zhaoliu"]
    whole = await _by_user(sandbox, {"userid_list": everyone, "limit": 100})
    seen: list[tuple[str, str]] = []
    cursor = ""
    for _ in range(100):
        data = await _by_user(sandbox, {"userid_list": everyone, "limit": 2, "cursor": cursor})
        assert len(data["external_contact_list"]) <= 2
        seen += [
            (i["follow_info"]["userid"], i["external_contact"]["external_userid"])
            for i in data["external_contact_list"]
        ]
        cursor = data["next_cursor"]
        if not cursor:
            break
    expected = [
        (i["follow_info"]["userid"], i["external_contact"]["external_userid"]) for i in whole["external_contact_list"]
    ]
    assert seen == expected and len(set(seen)) == len(seen)
    # A customer two members have appears once per member.
    deer = customer_named(await state(sandbox), "小鹿乱撞🦌")["external_userid"]
    assert {u for u, e in seen if e == deer} == {"zhangsan", "lisi"}


async def test_batch_get_by_user_answers_40058_when_more_than_100_userids(sandbox: Client) -> None:
    data = await _by_user(sandbox, {"userid_list": [f"u{i}" for i in range(101)]})
    assert data["errcode"] == 40058


async def test_batch_get_by_user_answers_40058_when_userid_list_is_missing(sandbox: Client) -> None:
    assert (await _by_user(sandbox, {"limit": 10}))["errcode"] == 40058
    assert (await _by_user(sandbox, {"userid_list": []}))["errcode"] == 40058


async def test_batch_get_by_user_ignores_unknown_userids_when_mixed_with_members(sandbox: Client) -> None:
    alone = await _by_user(sandbox, {"userid_list": ["wangwu"], "limit": 100})
    mixed = await _by_user(sandbox, {"userid_list": ["nobody", "wangwu"], "limit": 100})
    assert mixed["errcode"] == 0
    assert mixed["external_contact_list"] == alone["external_contact_list"]


async def test_batch_get_by_user_caps_limit_at_100_when_asked_for_more(sandbox: Client) -> None:
    data = await _by_user(sandbox, {"userid_list": ["zhangsan"], "limit": 5000})
    assert data["errcode"] == 0


async def test_batch_get_by_user_answers_50100_when_cursor_is_forged(sandbox: Client) -> None:
    data = await _by_user(sandbox, {"userid_list": ["zhangsan"], "cursor": "not-a-cursor"})
    assert data["errcode"] == 50100


async def test_corp_tag_list_names_tags_by_id_when_asked(sandbox: Client) -> None:
    status, data = await post_json(
        sandbox, "/cgi-bin/externalcontact/get_corp_tag_list", {}, access_token=await token(sandbox)
    )
    assert status == 200 and data["errcode"] == 0
    names = {t["name"]: g["group_name"] for g in data["tag_group"] for t in g["tag"]}
    assert names["VIP"] == "客户等级"
    vip = next(t["id"] for g in data["tag_group"] for t in g["tag"] if t["name"] == "VIP")
    _, only = await post_json(
        sandbox, "/cgi-bin/externalcontact/get_corp_tag_list", {"tag_id": [vip]}, access_token=await token(sandbox)
    )
    assert [t["name"] for g in only["tag_group"] for t in g["tag"]] == ["VIP"]
