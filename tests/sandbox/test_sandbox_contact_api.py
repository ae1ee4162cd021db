"""user/get and externalcontact/get over the seeded demo corp."""

from __future__ import annotations

from tests.sandbox.sandbox_api import Client, act, customer_named, get_json, state, token


async def test_user_get_returns_member_when_userid_exists(sandbox: Client) -> None:
    data = await get_json(sandbox, "/cgi-bin/user/get", access_token=await token(sandbox), userid="zhaoliu")
    assert data["errcode"] == 0
    assert (data["userid"], data["name"], data["position"], data["status"]) == ("zhaoliu", "赵六", "社群经理", 1)
    assert isinstance(data["department"], list)


async def test_user_get_answers_60111_when_userid_is_unknown(sandbox: Client) -> None:
    data = await get_json(sandbox, "/cgi-bin/user/get", access_token=await token(sandbox), userid="nobody")
    assert data["errcode"] == 60111


async def test_external_contact_lists_reps_and_tags_when_customer_has_two_reps(sandbox: Client) -> None:
    deer = customer_named(await state(sandbox), "小鹿乱撞🦌")
    data = await get_json(
        sandbox,
        "/cgi-bin/externalcontact/get",
        access_token=await token(sandbox),
        external_userid=deer["external_userid"],
    )
    assert data["errcode"] == 0
    contact = data["external_contact"]
    assert contact["external_userid"].startswith("wm") and 20 <= len(contact["external_userid"]) <= 32
    assert (contact["name"], contact["type"]) == ("小鹿乱撞🦌", 1)
    assert contact["unionid"]
    assert "corp_name" not in contact  # only WeCom users carry corp_name
    reps = {f["userid"]: f for f in data["follow_user"]}
    assert set(reps) == {"zhangsan", "lisi"}
    tags = {(t["group_name"], t["tag_name"]) for t in reps["zhangsan"]["tags"]}
    assert ("客户等级", "VIP") in tags
    assert all(t["tag_id"].startswith("et") and t["type"] == 1 for t in reps["zhangsan"]["tags"])
    assert reps["zhangsan"]["state"] == "live0901"
    assert reps["zhangsan"]["oper_userid"] == deer["external_userid"]
    assert data["next_cursor"] == ""


async def test_external_contact_carries_corp_name_when_customer_is_a_wecom_user(sandbox: Client) -> None:
    chen = customer_named(await state(sandbox), "陈经理")
    data = await get_json(
        sandbox,
        "/cgi-bin/externalcontact/get",
        access_token=await token(sandbox),
        external_userid=chen["external_userid"],
    )
    assert data["external_contact"]["type"] == 2
    assert data["external_contact"]["corp_name"] == "星河科技"


async def test_external_contact_answers_40096_when_id_is_unknown(sandbox: Client) -> None:
    data = await get_json(
        sandbox, "/cgi-bin/externalcontact/get", access_token=await token(sandbox), external_userid="wmNOPE"
    )
    assert data["errcode"] == 40096


async def test_external_contact_answers_84061_when_customer_never_added_anyone(sandbox: Client) -> None:
    candy = customer_named(await state(sandbox), "糖糖🍬")
    data = await get_json(
        sandbox,
        "/cgi-bin/externalcontact/get",
        access_token=await token(sandbox),
        external_userid=candy["external_userid"],
    )
    assert data["errcode"] == 84061


async def test_external_contact_answers_84061_when_every_rep_is_gone(sandbox: Client) -> None:
    mom = customer_named(await state(sandbox), "王姐(宝妈)")
    await act(sandbox, "delete-customer", member="lisi", customer=mom["external_userid"])
    access_token = await token(sandbox)
    still = await get_json(
        sandbox, "/cgi-bin/externalcontact/get", access_token=access_token, external_userid=mom["external_userid"]
    )
    assert [f["userid"] for f in still["follow_user"]] == ["wangwu"]
    await act(sandbox, "delete-rep", customer=mom["external_userid"], member="wangwu")
    gone = await get_json(
        sandbox, "/cgi-bin/externalcontact/get", access_token=access_token, external_userid=mom["external_userid"]
    )
    assert gone["errcode"] == 84061
