"""msgaudit_notify: pushed when new archived messages exist, coalesced to one per interval on the sandbox clock."""

from __future__ import annotations

from typing import Any

from tests.sandbox.archive_support import archive_config
from tests.sandbox.conftest import SandboxFactory
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, act, group_named, post_json, settle, state


def _notifies(receiver: Receiver) -> list[dict[str, Any]]:
    return [d.event for d in receiver.delivered if d.event["Event"] == "msgaudit_notify"]


async def _say(sandbox: Client, room: str) -> dict[str, Any]:
    result = await act(sandbox, "say", member="zhangsan", **{"in": room, "text": "大家好"})
    await settle(sandbox)
    return result


async def _advance(sandbox: Client, seconds: float) -> None:
    status, _ = await post_json(sandbox, "/sandbox/clock/advance", {"seconds": seconds})
    assert status == 200
    await settle(sandbox)


async def test_notify_is_coalesced_to_one_per_interval_when_messages_keep_coming(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    sandbox = await make_sandbox(archive=archive_config(notify_interval_s=15))
    room = group_named(await state(sandbox), "2026秋季训练营1群")["chat_id"]
    first = await _say(sandbox, room)
    assert len(first["delivery_ids"]) == 1 and len(_notifies(receiver)) == 1
    for _ in range(3):
        assert (await _say(sandbox, room))["delivery_ids"] == []
    await _advance(sandbox, 14)
    assert len(_notifies(receiver)) == 1
    await _advance(sandbox, 1)
    assert len(_notifies(receiver)) == 2
    # Nothing new since: no further notify, however long it stays quiet.
    await _advance(sandbox, 600)
    assert len(_notifies(receiver)) == 2
    # After a quiet interval the next message notifies at once.
    assert len((await _say(sandbox, room))["delivery_ids"]) == 1
    assert len(_notifies(receiver)) == 3


async def test_notify_has_the_documented_shape_when_delivered(make_sandbox: SandboxFactory, receiver: Receiver) -> None:
    sandbox = await make_sandbox(archive=archive_config())
    room = group_named(await state(sandbox), "会员福利群")["chat_id"]
    await _say_as_owner(sandbox, room)
    (event,) = _notifies(receiver)
    assert event["FromUserName"] == "sys" and event["MsgType"] == "event"
    assert event["AgentID"] == "1000002" and event["ToUserName"] == "ww5a1f0c9e2b7d4a31"
    assert "ChangeType" not in event


async def _say_as_owner(sandbox: Client, room: str) -> None:
    await act(sandbox, "say", member="lisi", **{"in": room, "text": "本周福利已发布"})
    await settle(sandbox)


async def test_no_notify_is_sent_when_archive_is_disabled(sandbox: Client, receiver: Receiver) -> None:
    room = group_named(await state(sandbox), "会员福利群")["chat_id"]
    result = await act(sandbox, "say", member="lisi", **{"in": room, "text": "hi"})
    await settle(sandbox)
    assert result["message"]["seq"] == 1 and result["delivery_ids"] == []
    assert _notifies(receiver) == []
