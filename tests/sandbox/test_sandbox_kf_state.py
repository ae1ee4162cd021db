"""The kf session state machine through service_state/get|trans, and the servicers' actions with their events."""

from __future__ import annotations

from typing import Any

from tests.sandbox.kf_api import (
    AFTER_SALES,
    advance,
    customer,
    kf_token,
    kfid,
    say,
    send_text,
    service_state,
    sync,
    trans,
)
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, act, post_json

HOUR = 3600


async def _events(sandbox: Client, receiver: Receiver, open_kfid: str) -> list[dict[str, Any]]:
    page = await sync(sandbox, token=await kf_token(sandbox, receiver), open_kfid=open_kfid)
    return [item["event"] for item in page["msg_list"] if item["msgtype"] == "event"]


async def test_state_moves_along_the_documented_path_when_transitions_are_legal(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    assert (await service_state(sandbox, open_kfid, deer))["service_state"] == 4  # never started
    await say(sandbox, deer, "你好")
    assert (await service_state(sandbox, open_kfid, deer))["service_state"] == 0
    to_bot = await trans(sandbox, open_kfid, deer, 1)
    assert to_bot["errcode"] == 0 and "msg_code" not in to_bot
    to_pool = await trans(sandbox, open_kfid, deer, 2)
    assert to_pool["errcode"] == 0 and to_pool["msg_code"]
    to_human = await trans(sandbox, open_kfid, deer, 3, "wangwu")
    assert to_human["errcode"] == 0 and to_human["msg_code"] not in ("", to_pool["msg_code"])
    transfer = await trans(sandbox, open_kfid, deer, 3, "zhaoliu")
    assert transfer["errcode"] == 0 and "msg_code" not in transfer
    assert await service_state(sandbox, open_kfid, deer) == {
        "errcode": 0,
        "errmsg": "ok",
        "service_state": 3,
        "servicer_userid": "zhaoliu",
    }
    ended = await trans(sandbox, open_kfid, deer, 4)
    assert ended["errcode"] == 0 and ended["msg_code"]
    assert (await service_state(sandbox, open_kfid, deer))["servicer_userid"] == ""


async def test_trans_answers_95016_when_the_transition_is_not_in_the_table(sandbox: Client) -> None:
    open_kfid, deer, jie = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌"), await customer(sandbox, "阿杰")
    assert (await trans(sandbox, open_kfid, jie, 1))["errcode"] == 95016  # 4 (not started) -> 1
    await say(sandbox, deer, "你好")
    assert (await trans(sandbox, open_kfid, deer, 4))["errcode"] == 95016  # 0 -> 4
    assert (await trans(sandbox, open_kfid, deer, 0))["errcode"] == 95016  # 0 -> 0
    await trans(sandbox, open_kfid, deer, 1)
    assert (await trans(sandbox, open_kfid, deer, 1))["errcode"] == 95016  # 1 -> 1
    await trans(sandbox, open_kfid, deer, 2)
    assert (await trans(sandbox, open_kfid, deer, 1))["errcode"] == 95016  # 2 -> 1
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    assert (await trans(sandbox, open_kfid, deer, 3, "wangwu"))["errcode"] == 95016  # same servicer
    assert (await trans(sandbox, open_kfid, deer, 2))["errcode"] == 95016  # 3 -> 2
    await trans(sandbox, open_kfid, deer, 4)
    assert (await trans(sandbox, open_kfid, deer, 1))["errcode"] == 95016  # 4 -> 1
    assert (await trans(sandbox, open_kfid, deer, 7))["errcode"] == 40058
    assert (await service_state(sandbox, open_kfid, deer))["service_state"] == 4


async def test_trans_answers_95014_when_the_servicer_is_not_one_or_has_stopped(sandbox: Client) -> None:
    deer = await customer(sandbox, "小鹿乱撞🦌")
    after_sales = await kfid(sandbox, AFTER_SALES)
    await say(sandbox, deer, "售后问题", open_kfid=after_sales)
    for servicer in ("", "zhangsan", "lisi", "nobody"):
        assert (await trans(sandbox, after_sales, deer, 3, servicer))["errcode"] == 95014, servicer
    assert (await trans(sandbox, after_sales, deer, 3, "wangwu"))["errcode"] == 0


async def test_service_state_calls_answer_95000_95004_40096_when_ids_are_wrong(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    assert (await service_state(sandbox, "wkNoSuchAccount0000000", deer))["errcode"] == 95000
    assert (await service_state(sandbox, "", deer))["errcode"] == 95004
    assert (await service_state(sandbox, open_kfid, "wmNoSuchCustomer"))["errcode"] == 40096


async def test_customer_message_starts_a_new_session_at_0_when_the_last_one_ended(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    await act(sandbox, "kf-end", customer=deer)
    assert (await service_state(sandbox, open_kfid, deer))["service_state"] == 4
    await say(sandbox, deer, "我又来了")
    assert (await service_state(sandbox, open_kfid, deer))["service_state"] == 0
    # A new session hands out a fresh pool code.
    assert (await trans(sandbox, open_kfid, deer, 2))["msg_code"]


async def test_session_lapses_to_4_when_48_hours_pass(fixed_sandbox: Client) -> None:
    sandbox = fixed_sandbox
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    await advance(sandbox, 48 * HOUR - 1)
    assert (await service_state(sandbox, open_kfid, deer))["service_state"] == 3
    await advance(sandbox, 1)
    assert await service_state(sandbox, open_kfid, deer) == {
        "errcode": 0,
        "errmsg": "ok",
        "service_state": 4,
        "servicer_userid": "",
    }


async def test_servicer_actions_push_session_status_change_when_done_in_the_client(
    sandbox: Client, receiver: Receiver
) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "转人工")
    await trans(sandbox, open_kfid, deer, 2)
    taken = await act(sandbox, "kf-take", member="wangwu", customer=deer)
    moved = await act(sandbox, "kf-transfer", member="zhaoliu", customer=deer)
    reply = await act(sandbox, "kf-servicer-say", member="zhaoliu", customer=deer, text="您好，我是赵六")
    ended = await act(sandbox, "kf-end", customer=deer)
    events = await _events(sandbox, receiver, open_kfid)
    head = {"event_type": "session_status_change", "open_kfid": open_kfid, "external_userid": deer}
    assert events == [
        {**head, "change_type": 1, "new_servicer_userid": "wangwu", "msg_code": taken["msg_code"]},
        {**head, "change_type": 2, "old_servicer_userid": "wangwu", "new_servicer_userid": "zhaoliu"},
        {**head, "change_type": 3, "old_servicer_userid": "zhaoliu", "msg_code": ended["msg_code"]},
    ]
    page = await sync(sandbox, token=await kf_token(sandbox, receiver), open_kfid=open_kfid)
    [text] = [item for item in page["msg_list"] if item["msgid"] == reply["msgid"]]
    assert (text["origin"], text["servicer_userid"], text["text"]) == (5, "zhaoliu", {"content": "您好，我是赵六"})
    assert moved["session"]["servicer_userid"] == "zhaoliu"


async def test_servicer_reply_reopens_an_ended_session_when_the_customer_wrote_within_48_hours(
    sandbox: Client, receiver: Receiver
) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    await act(sandbox, "kf-end", customer=deer)
    await act(sandbox, "kf-servicer-say", member="wangwu", customer=deer, text="补充一句")
    assert (await service_state(sandbox, open_kfid, deer))["servicer_userid"] == "wangwu"
    events = await _events(sandbox, receiver, open_kfid)
    assert [(e["event_type"], e["change_type"]) for e in events] == [
        ("session_status_change", 3),
        ("session_status_change", 4),
    ]
    assert events[-1]["new_servicer_userid"] == "wangwu"


async def test_servicer_reply_is_refused_when_the_session_is_not_theirs(sandbox: Client) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    await say(sandbox, deer, "你好")
    status, data = await post_json(
        sandbox, "/sandbox/act/kf-servicer-say", {"member": "wangwu", "customer": deer, "text": "抢答"}
    )
    assert (status, data["error"]["code"]) == (409, "bad_service_state")
    await trans(sandbox, open_kfid, deer, 3, "wangwu")
    status, data = await post_json(
        sandbox, "/sandbox/act/kf-servicer-say", {"member": "zhangsan", "customer": deer, "text": "?"}
    )
    assert (status, data["error"]["code"]) == (409, "not_a_servicer")


async def test_recall_status_and_send_failure_arrive_as_events_when_they_happen(
    sandbox: Client, receiver: Receiver
) -> None:
    open_kfid, deer = await kfid(sandbox), await customer(sandbox, "小鹿乱撞🦌")
    said = await say(sandbox, deer, "发错了")
    await act(sandbox, "kf-recall", customer=deer, msgid=said["msgid"])
    sent = await send_text(sandbox, open_kfid, deer, "收到")
    await act(sandbox, "kf-send-fail", msgid=sent["msgid"], fail_type=10)
    await act(sandbox, "kf-servicer-status", member="zhaoliu", status=2, stop_type=1)
    events = await _events(sandbox, receiver, open_kfid)
    head = {"open_kfid": open_kfid, "external_userid": deer}
    assert events == [
        {"event_type": "user_recall_msg", **head, "recall_msgid": said["msgid"]},
        {"event_type": "msg_send_fail", **head, "fail_msgid": sent["msgid"], "fail_type": 10},
        {
            "event_type": "servicer_status_change",
            "open_kfid": open_kfid,
            "servicer_userid": "zhaoliu",
            "status": 2,
            "stop_type": 1,
        },
    ]
    # zhaoliu stopped receiving, so a session can no longer be handed to him.
    assert (await trans(sandbox, open_kfid, deer, 3, "zhaoliu"))["errcode"] == 95014


async def test_recall_is_refused_when_the_message_is_older_than_2_minutes(fixed_sandbox: Client) -> None:
    sandbox = fixed_sandbox
    deer = await customer(sandbox, "小鹿乱撞🦌")
    said = await say(sandbox, deer, "旧消息")
    await advance(sandbox, 121)
    status, data = await post_json(sandbox, "/sandbox/act/kf-recall", {"customer": deer, "msgid": said["msgid"]})
    assert (status, data["error"]["code"]) == (409, "too_late")
