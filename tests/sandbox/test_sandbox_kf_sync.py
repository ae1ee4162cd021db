"""kf/sync_msg: cursor paging and resumption, the 3-day cutoff, tokens, the token-less limit, message shapes."""

from __future__ import annotations

from tests.sandbox.kf_api import (
    AFTER_SALES,
    DAY,
    advance,
    customer,
    kf_token,
    kfid,
    msgids,
    qyapi,
    say,
    send_text,
    sync,
)
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, act


async def test_sync_pages_by_limit_and_resumes_exactly_when_the_cursor_is_reused(
    sandbox: Client, receiver: Receiver
) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    said = [(await say(sandbox, deer, f"第{n}个问题"))["msgid"] for n in range(5)]
    tok = await kf_token(sandbox, receiver)
    seen: list[str] = []
    cursor = ""
    pages = []
    for _ in range(5):
        page = await sync(sandbox, cursor=cursor, token=tok, limit=2, open_kfid=open_kfid)
        assert page["errcode"] == 0, page
        pages.append((len(page["msg_list"]), page["has_more"]))
        seen += msgids(page)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert pages == [(2, 1), (2, 1), (1, 0)]
    assert seen == said
    assert len(cursor.encode()) <= 64
    # Nothing new: the same cursor returns nothing and can be kept.
    again = await sync(sandbox, cursor=cursor, token=tok, open_kfid=open_kfid)
    assert (again["msg_list"], again["has_more"]) == ([], 0)
    later = (await say(sandbox, deer, "还有一个问题"))["msgid"]
    resumed = await sync(
        sandbox, cursor=again["next_cursor"], token=await kf_token(sandbox, receiver), open_kfid=open_kfid
    )
    assert msgids(resumed) == [later]


async def test_sync_returns_only_the_last_3_days_when_the_cursor_is_empty_or_old(
    fixed_sandbox: Client, receiver: Receiver
) -> None:
    sandbox = fixed_sandbox
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    before = (await sync(sandbox, open_kfid=open_kfid))["next_cursor"]
    await say(sandbox, deer, "三天前的消息")
    await advance(sandbox, 3 * DAY)
    # Exactly 3 days old is still inside (the callback's token has long expired, so this call goes without one).
    assert len((await sync(sandbox, open_kfid=open_kfid))["msg_list"]) == 1
    await advance(sandbox, 1)
    fresh = (await say(sandbox, deer, "今天的消息"))["msgid"]
    tok = await kf_token(sandbox, receiver)
    assert msgids(await sync(sandbox, token=tok, open_kfid=open_kfid)) == [fresh]
    # A cursor from before the old message cannot reach it either: it is gone, not merely skipped once.
    assert msgids(await sync(sandbox, token=tok, open_kfid=open_kfid, cursor=before)) == [fresh]


async def test_sync_answers_95007_when_the_token_is_10_minutes_old_or_unknown(
    fixed_sandbox: Client, receiver: Receiver
) -> None:
    sandbox = fixed_sandbox
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    tok = await kf_token(sandbox, receiver)
    assert (await sync(sandbox, token=tok, open_kfid=open_kfid))["errcode"] == 0
    await advance(sandbox, 599)
    assert (await sync(sandbox, token=tok, open_kfid=open_kfid))["errcode"] == 0
    await advance(sandbox, 1)
    assert (await sync(sandbox, token=tok, open_kfid=open_kfid))["errcode"] == 95007
    assert (await sync(sandbox, token="ENCmadeUpToken", open_kfid=open_kfid))["errcode"] == 95007


async def test_sync_answers_95007_when_the_token_came_with_another_account(sandbox: Client, receiver: Receiver) -> None:
    deer = await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    tok = await kf_token(sandbox, receiver)
    other = await kfid(sandbox, AFTER_SALES)
    assert (await sync(sandbox, token=tok, open_kfid=other))["errcode"] == 95007


async def test_sync_answers_45009_when_called_without_token_more_than_3_times_a_minute(sandbox: Client) -> None:
    open_kfid = await kfid(sandbox)
    codes = [(await sync(sandbox, open_kfid=open_kfid))["errcode"] for _ in range(4)]
    assert codes == [0, 0, 0, 45009]
    # The limit is per account: the other account still has its own allowance.
    assert (await sync(sandbox, open_kfid=await kfid(sandbox, AFTER_SALES)))["errcode"] == 0
    await advance(sandbox, 60)
    assert (await sync(sandbox, open_kfid=open_kfid))["errcode"] == 0


async def test_sync_refuses_the_cursor_when_it_is_forged_or_from_another_account(
    sandbox: Client, receiver: Receiver
) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    tok = await kf_token(sandbox, receiver)
    cursor = (await sync(sandbox, token=tok, open_kfid=open_kfid))["next_cursor"]
    flipped = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    for bad in (flipped, "not-a-cursor", "x" * 65):
        assert (await sync(sandbox, token=tok, open_kfid=open_kfid, cursor=bad))["errcode"] == 40058, bad
    # The same cursor means something else without open_kfid (all accounts), so it is refused there too.
    assert (await sync(sandbox, token=tok, cursor=cursor))["errcode"] == 40058


async def test_sync_answers_40058_when_limit_is_outside_1_to_1000(sandbox: Client, receiver: Receiver) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    tok = await kf_token(sandbox, receiver)
    for limit in (0, 1001, "10"):
        assert (await sync(sandbox, token=tok, open_kfid=open_kfid, limit=limit))["errcode"] == 40058
    assert (await sync(sandbox, token=tok, open_kfid=open_kfid, limit=1000))["errcode"] == 0
    assert (await sync(sandbox, token=tok, open_kfid=open_kfid, voice_format=2))["errcode"] == 40058


async def test_sync_leaves_out_what_the_api_sent_when_the_bot_has_replied(sandbox: Client, receiver: Receiver) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    asked = (await say(sandbox, deer, "几点开课？"))["msgid"]
    sent = await send_text(sandbox, open_kfid, deer, "今晚8点开课")
    assert sent["errcode"] == 0
    page = await sync(sandbox, token=await kf_token(sandbox, receiver), open_kfid=open_kfid)
    assert msgids(page) == [asked]
    assert sent["msgid"] not in msgids(page)


async def test_sync_serves_an_unknown_msgtype_verbatim_when_one_is_injected(
    sandbox: Client, receiver: Receiver
) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    raw = {"msgtype": "hologram", "hologram": {"frames": [1, 2, 3], "label": "全息", "nested": {"ok": True}}}
    result = await act(sandbox, "kf-inject", customer=deer, msg=raw)
    [item] = (await sync(sandbox, token=await kf_token(sandbox, receiver), open_kfid=open_kfid))["msg_list"]
    assert item == {
        "msgid": result["msgid"],
        "open_kfid": open_kfid,
        "external_userid": deer,
        "send_time": item["send_time"],
        "origin": 3,
        **raw,
    }


async def test_sync_returns_typed_customer_messages_when_media_and_location_are_sent(
    sandbox: Client, receiver: Receiver
) -> None:
    open_kfid, lemon = await kfid(sandbox), await customer(sandbox, "Lemon柠檬")
    await act(sandbox, "kf-send-media", customer=lemon, msgtype="image")
    await act(sandbox, "kf-send-media", customer=lemon, msgtype="file", fields={"media_id": "MEDIA_FILE_1"})
    place = {"latitude": 31.23, "longitude": 121.47, "name": "人民广场", "address": "上海市黄浦区"}
    await act(sandbox, "kf-send-media", customer=lemon, msgtype="location", fields=place)
    items = (await sync(sandbox, token=await kf_token(sandbox, receiver), open_kfid=open_kfid))["msg_list"]
    assert [(i["msgtype"], i["origin"]) for i in items] == [("image", 3), ("file", 3), ("location", 3)]
    assert set(items[0]["image"]) == {"media_id"} and items[0]["image"]["media_id"]
    assert items[1]["file"] == {"media_id": "MEDIA_FILE_1"}
    assert items[2]["location"] == place


async def test_sync_is_refused_with_40058_when_open_kfid_is_missing_or_empty(
    sandbox: Client, receiver: Receiver
) -> None:
    deer = await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "问官方客服")
    second = (await say(sandbox, deer, "问售后", open_kfid=await kfid(sandbox, AFTER_SALES)))["msgid"]
    token = await kf_token(sandbox, receiver)
    # Required (WECOM.md §2d): never every account's messages at once.
    assert (await sync(sandbox, token=token))["errcode"] == 40058
    assert (await sync(sandbox, token=token, open_kfid=""))["errcode"] == 40058
    assert msgids(await sync(sandbox, token=token, open_kfid=await kfid(sandbox, AFTER_SALES))) == [second]
    assert (await sync(sandbox, token="", open_kfid="wkNoSuchAccount0000000"))["errcode"] == 95000


async def test_account_list_pages_both_seeded_accounts_when_asked(sandbox: Client) -> None:
    data = await qyapi(sandbox, "account/list", {"offset": 0, "limit": 100})
    names = [(a["name"], a["manage_privilege"]) for a in data["account_list"]]
    assert names == [("群客官方客服", True), ("售后服务", True)]
    for account in data["account_list"]:
        assert account["open_kfid"].startswith("wk") and len(account["open_kfid"]) == 22
    assert len((await qyapi(sandbox, "account/list", {"offset": 1, "limit": 1}))["account_list"]) == 1
    assert (await qyapi(sandbox, "account/list", {"offset": 0, "limit": 101}))["errcode"] == 40058
