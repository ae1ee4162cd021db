"""message/send: recipients and invaliduser, 81013, per-type limits, silent drops over the limits, duplicate check."""

from __future__ import annotations

from typing import Any

from pytest_aiohttp import AiohttpClient

from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import DEMO, Client, token
from tests.sandbox.send_api import MEMBERS, advance, api, entries, fixed_sandbox, limits, send

SEND = "/cgi-bin/message/send"


async def _sandbox(aiohttp_client: AiohttpClient, receiver: Receiver, **overrides: Any) -> tuple[Client, str]:
    client = await fixed_sandbox(aiohttp_client, receiver, **overrides)
    return client, await token(client)


def _delivered_to(records: list[dict[str, Any]]) -> list[str]:
    return [record["userid"] for record in records if record["kind"] == "app_message"]


async def test_message_reaches_each_member_once_when_recipients_are_valid(sandbox: Client) -> None:
    data = await send(sandbox, await token(sandbox), "zhangsan|lisi", "今晚8点直播答疑")
    assert data["errcode"] == 0 and data["errmsg"] == "ok"
    assert (data["invaliduser"], data["invalidparty"], data["invalidtag"], data["unlicenseduser"]) == ("", "", "", "")
    assert data["msgid"] and "response_code" not in data
    records = await entries(sandbox, "app_message")
    assert _delivered_to(records) == ["zhangsan", "lisi"]
    assert {record["msgid"] for record in records} == {data["msgid"]}
    assert records[0]["content"] == "今晚8点直播答疑" and records[0]["message"] == {"content": "今晚8点直播答疑"}


async def test_unknown_userids_come_back_lower_case_when_only_some_are_invalid(sandbox: Client) -> None:
    data = await send(sandbox, await token(sandbox), "Ghost|LiSi|zhangsan|NoBody")
    assert data["errcode"] == 0
    assert data["invaliduser"] == "ghost|nobody"
    # Userids match case-insensitively, as in WeCom; the member is reached under their real id.
    assert _delivered_to(await entries(sandbox, "app_message")) == ["lisi", "zhangsan"]


async def test_send_answers_81013_when_every_recipient_is_invalid(sandbox: Client) -> None:
    body = {"touser": "ghost", "toparty": "999", "totag": "7", "msgtype": "text", "agentid": DEMO.agent_id}
    data = await api(sandbox, SEND, await token(sandbox), {**body, "text": {"content": "hi"}})
    assert data["errcode"] == 81013
    assert await entries(sandbox, "app_message", "app_message_dropped") == []


async def test_send_answers_82001_when_no_recipient_is_given(sandbox: Client) -> None:
    data = await send(sandbox, await token(sandbox), "")
    assert data["errcode"] == 82001


async def test_at_all_and_the_root_party_reach_every_member(sandbox: Client) -> None:
    access_token = await token(sandbox)
    assert (await send(sandbox, access_token, "@all"))["errcode"] == 0
    party = await send(sandbox, access_token, "", toparty="1|999")
    assert party["errcode"] == 0 and party["invalidparty"] == "999"
    delivered = _delivered_to(await entries(sandbox, "app_message"))
    assert sorted(delivered) == sorted(MEMBERS * 2)


async def test_text_answers_45002_when_content_is_over_2048_bytes(sandbox: Client) -> None:
    access_token = await token(sandbox)
    assert (await send(sandbox, access_token, "zhangsan", "a" * 2048))["errcode"] == 0
    # 683 Chinese characters are 2049 bytes in UTF-8.
    assert (await send(sandbox, access_token, "zhangsan", "群" * 683))["errcode"] == 45002
    assert (await send(sandbox, access_token, "zhangsan", ""))["errcode"] == 44004
    assert len(await entries(sandbox, "app_message")) == 1


async def test_markdown_answers_45002_when_content_is_over_2048_bytes(sandbox: Client) -> None:
    body = {"touser": "zhangsan", "msgtype": "markdown", "agentid": DEMO.agent_id}
    data = await api(sandbox, SEND, await token(sandbox), {**body, "markdown": {"content": "**x**" * 410}})
    assert data["errcode"] == 45002


async def test_send_is_refused_when_agentid_or_msgtype_is_wrong(sandbox: Client) -> None:
    access_token = await token(sandbox)
    base = {"touser": "zhangsan", "msgtype": "text", "text": {"content": "hi"}}
    assert (await api(sandbox, SEND, access_token, base))["errcode"] == 41011
    assert (await api(sandbox, SEND, access_token, {**base, "agentid": 1}))["errcode"] == 40056
    assert (await api(sandbox, SEND, access_token, {**base, "agentid": str(DEMO.agent_id)}))["errcode"] == 40056
    wrong_type = {**base, "agentid": DEMO.agent_id, "msgtype": "sms"}
    assert (await api(sandbox, SEND, access_token, wrong_type))["errcode"] == 40008


async def test_textcard_is_refused_when_its_limits_are_broken(sandbox: Client) -> None:
    access_token = await token(sandbox)
    card = {"title": "工单已更新", "description": "客户回复了", "url": "https://example.com/t/1", "btntxt": "详情"}
    body = {"touser": "zhangsan", "msgtype": "textcard", "agentid": DEMO.agent_id}
    assert (await api(sandbox, SEND, access_token, {**body, "textcard": card}))["errcode"] == 0
    too_long = {**card, "description": "长" * 171}
    assert (await api(sandbox, SEND, access_token, {**body, "textcard": too_long}))["errcode"] == 40058
    no_button = {**card, "btntxt": "查看详情页"}
    assert (await api(sandbox, SEND, access_token, {**body, "textcard": no_button}))["errcode"] == 40058


async def test_interactive_template_card_gets_a_response_code(sandbox: Client) -> None:
    access_token = await token(sandbox)
    body = {"touser": "zhangsan", "msgtype": "template_card", "agentid": DEMO.agent_id}
    button = {"card_type": "button_interaction", "task_id": "t1", "main_title": {"title": "新工单"}}
    answer = await api(sandbox, SEND, access_token, {**body, "template_card": button})
    assert answer["errcode"] == 0 and answer["response_code"]
    notice = await api(sandbox, SEND, access_token, {**body, "template_card": {"card_type": "text_notice"}})
    assert notice["errcode"] == 0 and "response_code" not in notice
    bad = await api(sandbox, SEND, access_token, {**body, "template_card": {"card_type": "poster"}})
    assert bad["errcode"] == 42031


async def test_31st_message_in_a_minute_is_dropped_silently(aiohttp_client: AiohttpClient, receiver: Receiver) -> None:
    client, access_token = await _sandbox(aiohttp_client, receiver)
    for n in range(31):
        assert (await send(client, access_token, "zhangsan", f"第{n + 1}条"))["errcode"] == 0
    dropped = await entries(client, "app_message_dropped")
    assert [(d["userid"], d["content"], d["reason"]) for d in dropped] == [("zhangsan", "第31条", "member_per_minute")]
    assert len(await entries(client, "app_message")) == 30
    usage = (await limits(client))["members"]["zhangsan"]
    assert (usage["delivered"], usage["dropped"], usage["last_minute"]) == (30, 1, 31)
    # Other members have their own budget, and the window slides: a minute later zhangsan receives again.
    assert (await send(client, access_token, "lisi"))["errcode"] == 0
    await advance(client, 60)
    await send(client, access_token, "zhangsan", "一分钟后")
    assert _delivered_to(await entries(client, "app_message"))[-2:] == ["lisi", "zhangsan"]


async def test_1001st_message_in_an_hour_is_dropped_silently(aiohttp_client: AiohttpClient, receiver: Receiver) -> None:
    client, access_token = await _sandbox(aiohttp_client, receiver)
    for n in range(1001):
        if n and n % 30 == 0:
            await advance(client, 60)
        assert (await send(client, access_token, "wangwu", str(n)))["errcode"] == 0
    dropped = await entries(client, "app_message_dropped")
    assert [(d["content"], d["reason"]) for d in dropped] == [("1000", "member_per_hour")]
    usage = (await limits(client))["members"]["wangwu"]
    assert (usage["delivered"], usage["peak_minute"], usage["peak_hour"]) == (1000, 30, 1001)


async def test_app_daily_cap_drops_person_times_until_the_next_day(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    # An account cap of 1 gives 200 person-times a day: 50 sends to the 4 members.
    client, access_token = await _sandbox(aiohttp_client, receiver, account_cap=1)
    everyone = "|".join(MEMBERS)
    for n in range(50):
        if n == 25:
            await advance(client, 60)
        await send(client, access_token, everyone, str(n))
    await send(client, access_token, everyone, "超出")
    dropped = await entries(client, "app_message_dropped")
    assert [(d["content"], d["reason"]) for d in dropped] == [("超出", "app_daily_cap")] * 4
    assert (await limits(client))["app"]["person_times_today"] == 204
    # 09:00 + 15 h is past midnight in Beijing: a new natural day, a new budget.
    await advance(client, 15 * 3600)
    await send(client, access_token, everyone, "第二天")
    assert _delivered_to(await entries(client, "app_message"))[-4:] == list(MEMBERS)


async def test_duplicate_is_not_delivered_again_when_sent_within_interval(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    client, access_token = await _sandbox(aiohttp_client, receiver)
    check = {"enable_duplicate_check": 1, "duplicate_check_interval": 600}
    first = await send(client, access_token, "zhangsan|lisi", "提醒：明天上课", **check)
    await advance(client, 599)
    again = await send(client, access_token, "lisi|zhangsan", "提醒：明天上课", **check)
    assert again["errcode"] == 0
    duplicates = await entries(client, "app_message_duplicate")
    assert [(d["userid"], d["original_msgid"]) for d in duplicates] == [
        ("lisi", first["msgid"]),
        ("zhangsan", first["msgid"]),
    ]
    # Different content or different recipients are new messages, duplicate check or not.
    await send(client, access_token, "zhangsan", "提醒：明天上课", **check)
    await send(client, access_token, "zhangsan|lisi", "提醒：后天上课", **check)
    assert _delivered_to(await entries(client, "app_message")) == ["zhangsan", "lisi", "zhangsan", "zhangsan", "lisi"]


async def test_duplicate_is_delivered_again_when_interval_has_passed_or_check_is_off(
    aiohttp_client: AiohttpClient, receiver: Receiver
) -> None:
    client, access_token = await _sandbox(aiohttp_client, receiver)
    await send(client, access_token, "zhangsan", "早安", enable_duplicate_check=1)
    await advance(client, 1800)
    await send(client, access_token, "zhangsan", "早安", enable_duplicate_check=1)
    await send(client, access_token, "zhangsan", "晚安")
    await send(client, access_token, "zhangsan", "晚安")
    assert len(await entries(client, "app_message")) == 4
    assert await entries(client, "app_message_duplicate") == []


async def test_duplicate_check_interval_is_refused_when_over_four_hours(sandbox: Client) -> None:
    check = {"enable_duplicate_check": 1, "duplicate_check_interval": 4 * 3600 + 1}
    data = await send(sandbox, await token(sandbox), "zhangsan", **check)
    assert data["errcode"] == 40058
