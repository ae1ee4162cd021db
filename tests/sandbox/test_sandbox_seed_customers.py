"""POST /sandbox/act/seed-customers: a crowd of existing contacts at once, read back by batch/get_by_user, no push."""

from __future__ import annotations

from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, act, post_json, settle, state, token

BY_USER = "/cgi-bin/externalcontact/batch/get_by_user"


async def test_seeded_customers_are_listed_by_their_reps_and_nothing_is_pushed_when_seeded(
    sandbox: Client, receiver: Receiver
) -> None:
    result = await act(sandbox, "seed-customers", name="压测", count=250, members=["lisi", "wangwu"])
    seeded = result["customers"]["external_userids"]
    assert len(set(seeded)) == 250 and result["delivery_ids"] == []
    listed: dict[str, str] = {}
    cursor = ""
    for _ in range(10):
        body = {"userid_list": ["lisi", "wangwu"], "limit": 100, "cursor": cursor}
        status, data = await post_json(sandbox, BY_USER, body, access_token=await token(sandbox))
        assert status == 200 and data["errcode"] == 0, data
        for item in data["external_contact_list"]:
            listed[item["external_contact"]["external_userid"]] = item["follow_info"]["userid"]
        cursor = data["next_cursor"]
        if not cursor:
            break
    assert [listed.get(e) for e in seeded[:4]] == ["lisi", "wangwu", "lisi", "wangwu"]
    assert set(seeded) <= set(listed)
    await settle(sandbox)
    assert receiver.delivered == []


async def test_seed_is_refused_with_nothing_added_when_a_rep_is_unknown(sandbox: Client) -> None:
    before = len((await state(sandbox))["customers"])
    body = {"name": "压测", "count": 3, "members": ["lisi", "nobody"]}
    status, data = await post_json(sandbox, "/sandbox/act/seed-customers", body)
    assert status == 404 and "nobody" in data["error"]["message"], data
    status, data = await post_json(sandbox, "/sandbox/act/seed-customers", {**body, "members": ["lisi"], "count": 0})
    assert status == 400 and "count" in data["error"]["message"], data
    assert len((await state(sandbox))["customers"]) == before
