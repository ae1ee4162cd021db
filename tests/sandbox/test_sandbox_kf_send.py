"""kf/send_msg and send_msg_on_event: the 5-in-48h allowance, the window, states, msgid dedupe, menus and codes."""

from __future__ import annotations

from typing import Any

from tests.sandbox.kf_api import (
    advance,
    customer,
    entries,
    kf_token,
    kfid,
    menu,
    qyapi,
    say,
    send_text,
    sync,
    trans,
)
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, act, token

HOUR = 3600


async def _codes(sandbox: Client, open_kfid: str, touser: str, count: int) -> list[int]:
    return [(await send_text(sandbox, open_kfid, touser, f"回复{n}"))["errcode"] for n in range(count)]


async def test_send_allows_5_then_answers_95001_until_the_customer_writes_again(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "在吗？")
    assert await _codes(sandbox, open_kfid, deer, 6) == [0, 0, 0, 0, 0, 95001]
    sent = await entries(sandbox, "kf_send")
    assert [e["sends_used"] for e in sent] == [1, 2, 3, 4, 5]
    assert all((e["touser"], e["via"], e["msgtype"]) == (deer, "send_msg", "text") for e in sent)
    [refused] = await entries(sandbox, "kf_send_rejected")
    assert (refused["errcode"], refused["touser"], refused["open_kfid"]) == (95001, deer, open_kfid)
    await say(sandbox, deer, "还有一个问题")
    assert await _codes(sandbox, open_kfid, deer, 6) == [0, 0, 0, 0, 0, 95001]
    assert len(await entries(sandbox, "kf_send")) == 10


async def test_send_answers_95002_when_the_customer_wrote_48_hours_ago_or_never(
    fixed_sandbox: Client,
) -> None:
    sandbox = fixed_sandbox
    open_kfid, deer, jie = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌"), await customer(sandbox, "阿杰")
    assert (await send_text(sandbox, open_kfid, jie, "你好"))["errcode"] == 95002
    await say(sandbox, deer, "明天还能问吗？")
    await advance(sandbox, 48 * HOUR - 1)
    assert (await send_text(sandbox, open_kfid, deer, "可以的"))["errcode"] == 0
    await advance(sandbox, 1)
    assert (await send_text(sandbox, open_kfid, deer, "可以的"))["errcode"] == 95002
    # A new message reopens the window (and, the 48 h session being over, starts a new session at state 0).
    await say(sandbox, deer, "我又来了")
    assert (await send_text(sandbox, open_kfid, deer, "欢迎回来"))["errcode"] == 0
    assert [e["errcode"] for e in await entries(sandbox, "kf_send_rejected")] == [95002, 95002]


async def test_send_answers_an_error_and_delivers_once_when_the_same_msgid_is_sent_again(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "发货了吗？")
    first = await send_text(sandbox, open_kfid, deer, "已发货", msgid="outbox-42")
    again = await send_text(sandbox, open_kfid, deer, "已发货", msgid="outbox-42")
    assert (first["errcode"], first["msgid"]) == (0, "outbox-42")
    # "若指定msgid…否则接口返回错误" (WECOM.md §2d): an error, 95020 here (UNCONFIRMED code).
    assert again["errcode"] == 95020 and "msgid" not in again
    assert [e["msgid"] for e in await entries(sandbox, "kf_send")] == ["outbox-42"]
    assert [e["msgid"] for e in await entries(sandbox, "kf_send_repeat")] == ["outbox-42"]
    assert await entries(sandbox, "kf_send_rejected") == []
    # The repeat was not counted: four more fit, and a repeat still answers 95020 once the allowance is spent.
    assert await _codes(sandbox, open_kfid, deer, 5) == [0, 0, 0, 0, 95001]
    assert (await send_text(sandbox, open_kfid, deer, "已发货", msgid="outbox-42"))["errcode"] == 95020
    assert len(await entries(sandbox, "kf_send")) == 5


async def test_send_answers_40058_when_msgid_is_too_long_or_has_other_characters(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    for bad in ("x" * 33, "has space", "中文", "a.b"):
        assert (await send_text(sandbox, open_kfid, deer, "好", msgid=bad))["errcode"] == 40058, bad
    assert (await send_text(sandbox, open_kfid, deer, "好", msgid="A-z_0" + "9" * 27))["errcode"] == 0


async def test_send_checks_text_size_and_menu_items_when_the_body_is_too_big(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    # 682 Chinese characters are 2046 bytes in UTF-8; one more is over 2048.
    assert (await send_text(sandbox, open_kfid, deer, "好" * 683))["errcode"] == 45002
    assert (await send_text(sandbox, open_kfid, deer, ""))["errcode"] == 44004
    eleven = menu(*[(f"m{n}", f"选项{n}") for n in range(11)])
    body = {"touser": deer, "open_kfid": open_kfid, "msgtype": "msgmenu", "msgmenu": eleven}
    assert (await qyapi(sandbox, "send_msg", body))["errcode"] == 95008
    bad_item = {"list": [{"type": "button", "button": {"content": "?"}}]}
    assert (await qyapi(sandbox, "send_msg", {**body, "msgmenu": bad_item}))["errcode"] == 40058
    assert (await qyapi(sandbox, "send_msg", {**body, "msgtype": "hologram"}))["errcode"] == 40058
    assert (await send_text(sandbox, open_kfid, deer, "好" * 682))["errcode"] == 0
    assert len(await entries(sandbox, "kf_send")) == 1


async def test_menu_click_comes_back_as_text_with_menu_id_when_the_customer_taps_it(
    sandbox: Client, receiver: Receiver
) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "好的，谢谢")
    body = {
        "touser": deer,
        "open_kfid": open_kfid,
        "msgtype": "msgmenu",
        "msgmenu": menu(("csat_5", "非常满意"), ("csat_1", "不满意")),
    }
    sent = await qyapi(sandbox, "send_msg", body)
    assert sent["errcode"] == 0
    assert (await entries(sandbox, "kf_send"))[0]["menu"] == body["msgmenu"]
    await send_text(sandbox, open_kfid, deer, "1")
    await send_text(sandbox, open_kfid, deer, "2")
    await send_text(sandbox, open_kfid, deer, "3")
    await send_text(sandbox, open_kfid, deer, "4")
    clicked = await act(sandbox, "kf-click", customer=deer, menu_id="csat_5")
    assert clicked["clicked_msgid"] == sent["msgid"]
    item = (await sync(sandbox, token=await kf_token(sandbox, receiver), open_kfid=open_kfid))["msg_list"][-1]
    assert (item["msgid"], item["origin"], item["msgtype"]) == (clicked["msgid"], 3, "text")
    assert item["text"] == {"content": "非常满意", "menu_id": "csat_5"}
    # A click is the customer writing: the allowance starts again.
    assert (await send_text(sandbox, open_kfid, deer, "感谢评价"))["errcode"] == 0


async def test_menu_click_is_refused_when_no_menu_sent_has_that_item(sandbox: Client) -> None:
    deer = await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    status, data = await _post_act(sandbox, "kf-click", customer=deer, menu_id="nope")
    assert (status, data["error"]["code"]) == (404, "unknown_menu_item")


async def _post_act(sandbox: Client, action: str, **body: Any) -> tuple[int, dict[str, Any]]:
    async with sandbox.post(f"/sandbox/act/{action}", json=body) as response:
        data: dict[str, Any] = await response.json()
        return response.status, data


async def test_send_answers_95018_when_the_session_is_in_the_pool_or_with_a_servicer(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "转人工")
    assert (await trans(sandbox, open_kfid, deer, 1))["errcode"] == 0
    assert (await send_text(sandbox, open_kfid, deer, "机器人回复"))["errcode"] == 0
    await trans(sandbox, open_kfid, deer, 2)
    assert (await send_text(sandbox, open_kfid, deer, "请稍候"))["errcode"] == 95018
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    assert (await send_text(sandbox, open_kfid, deer, "请稍候"))["errcode"] == 95018
    assert [e["errcode"] for e in await entries(sandbox, "kf_send_rejected")] == [95018, 95018]


async def _on_event(sandbox: Client, code: str, msgtype: str = "text", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "msgtype": msgtype, **extra}
    if msgtype == "text":
        body["text"] = {"content": "您好，欢迎咨询群客官方客服"}
    return await qyapi(sandbox, "send_msg_on_event", body)


async def test_welcome_code_sends_once_when_the_customer_enters(sandbox: Client, receiver: Receiver) -> None:
    open_kfid = await kfid(sandbox)
    entered = await act(sandbox, "kf-enter", customer="new", name="路人甲", scene="ad_autumn", scene_param="p1")
    code, who = entered["welcome_code"], entered["external_userid"]
    [item] = (await sync(sandbox, token=await kf_token(sandbox, receiver), open_kfid=open_kfid))["msg_list"]
    assert item["origin"] == 4 and item["msgtype"] == "event"
    # "msgtype为event，该字段不返回": the ids are inside the event only (WECOM.md §2d).
    assert "open_kfid" not in item and "external_userid" not in item
    assert item["event"] == {
        "event_type": "enter_session",
        "open_kfid": open_kfid,
        "external_userid": who,
        "scene": "ad_autumn",
        "scene_param": "p1",
        "welcome_code": code,
    }
    first = await _on_event(sandbox, code, msgid="welcome-1")
    assert (first["errcode"], first["msgid"]) == (0, "welcome-1")
    assert (await _on_event(sandbox, code, msgid="welcome-1"))["errcode"] == 95020  # a retry of the same send
    assert (await _on_event(sandbox, code))["errcode"] == 40058  # a second message on a used code
    [sent] = await entries(sandbox, "kf_send")
    assert (sent["via"], sent["touser"], sent["code"]) == ("send_msg_on_event", who, code)
    # Within 48 h of that welcome, entering again brings no new code.
    assert "welcome_code" not in await act(sandbox, "kf-enter", customer=who)


async def test_welcome_code_answers_40058_when_used_after_20_seconds(fixed_sandbox: Client) -> None:
    sandbox = fixed_sandbox
    code = (await act(sandbox, "kf-enter", customer="new"))["welcome_code"]
    await advance(sandbox, 20)
    assert (await _on_event(sandbox, code))["errcode"] == 40058
    assert (await _on_event(sandbox, "NoSuchCode"))["errcode"] == 40058
    assert [e["via"] for e in await entries(sandbox, "kf_send_rejected")] == ["send_msg_on_event"] * 2


async def test_end_code_sends_a_survey_once_within_20_seconds_when_a_servicer_ends(fixed_sandbox: Client) -> None:
    sandbox = fixed_sandbox
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "找人工")
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    ended = await act(sandbox, "kf-end", customer=deer)
    survey = menu(("csat_5", "满意"), ("csat_1", "不满意"))
    await advance(sandbox, 19)
    first = await _on_event(sandbox, ended["msg_code"], "msgmenu", msgmenu=survey)
    assert first["errcode"] == 0
    assert (await _on_event(sandbox, ended["msg_code"], "msgmenu", msgmenu=survey))["errcode"] == 40058
    clicked = await act(sandbox, "kf-click", customer=deer, menu_id="csat_1")
    assert clicked["clicked_msgid"] == first["msgid"]
    # The click started a new session; a fresh end code expires after 20 s.
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    late = await act(sandbox, "kf-end", customer=deer)
    await advance(sandbox, 20)
    assert (await _on_event(sandbox, late["msg_code"]))["errcode"] == 40058


async def test_pool_code_sends_text_only_while_the_session_waits_in_the_pool(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "转人工")
    code = (await trans(sandbox, open_kfid, deer, 2))["msg_code"]
    assert (await _on_event(sandbox, code, "msgmenu", msgmenu=menu(("a", "b"))))["errcode"] == 40058
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    assert (await _on_event(sandbox, code))["errcode"] == 95018
    assert await entries(sandbox, "kf_send") == []


async def test_send_logs_the_refusal_when_the_body_is_not_json(sandbox: Client) -> None:
    async with sandbox.post("/cgi-bin/kf/send_msg", data=b"{oops", params={"access_token": await token(sandbox)}) as r:
        data = await r.json()
    assert data["errcode"] == 40058
    [refused] = await entries(sandbox, "kf_send_rejected")
    assert (refused["via"], refused["errcode"], refused["touser"]) == ("send_msg", 40058, "")
