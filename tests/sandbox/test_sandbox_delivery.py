"""The callback sender's WeCom behaviour: retries, giving up, duplicates, late and reordered arrivals, the log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, act, customer_named, group_named, log, post_json, settle, state
from tests.support.postgres import free_port


async def _add_candy(sandbox: Client) -> str:
    candy = customer_named(await state(sandbox), "糖糖🍬")["external_userid"]
    result = await act(sandbox, "add-contact", customer=candy, member="zhangsan")
    delivery_id: str = result["delivery_ids"][0]
    return delivery_id


def _attempts(entries: list[dict[str, Any]], delivery_id: str) -> list[tuple[int, str, bool]]:
    return [(e["attempt"], e["outcome"], e["duplicate"]) for e in entries if e["delivery_id"] == delivery_id]


async def test_delivery_retries_when_first_answer_is_slower_than_timeout(sandbox: Client, receiver: Receiver) -> None:
    receiver.script = ["slow"]
    delivery_id = await _add_candy(sandbox)
    await settle(sandbox)
    assert _attempts(await log(sandbox), delivery_id) == [(1, "timeout", False), (2, "ok", False)]
    assert len(receiver.delivered) == 1


async def test_delivery_retries_when_receiver_answers_500(sandbox: Client, receiver: Receiver) -> None:
    receiver.script = ["500", "500"]
    delivery_id = await _add_candy(sandbox)
    await settle(sandbox)
    entries = await log(sandbox)
    assert _attempts(entries, delivery_id) == [(1, "http_500", False), (2, "http_500", False), (3, "ok", False)]
    assert [e["http_status"] for e in entries] == [500, 500, 200]


async def test_delivery_gives_up_after_three_retries_when_connection_is_refused(make_sandbox: Any) -> None:
    sandbox = await make_sandbox(callback_url=f"http://127.0.0.1:{free_port()}/wecom/callback")
    delivery_id = await _add_candy(sandbox)
    await settle(sandbox)
    attempts = _attempts(await log(sandbox), delivery_id)
    assert attempts == [(n, "connection_error", False) for n in (1, 2, 3, 4)] + [(4, "gave_up", False)]


async def test_delivery_is_repeated_on_purpose_when_duplicate_rate_is_one(
    make_sandbox: Any, receiver: Receiver
) -> None:
    sandbox = await make_sandbox(duplicate_rate=1.0)
    delivery_id = await _add_candy(sandbox)
    await settle(sandbox)
    assert _attempts(await log(sandbox), delivery_id) == [(1, "ok", False), (1, "ok", True)]
    first, second = receiver.delivered
    assert first.plaintext == second.plaintext
    # Encrypted afresh: a receiver cannot dedupe on the ciphertext or the nonce.
    assert first.envelope["Encrypt"] != second.envelope["Encrypt"]


async def test_events_arrive_late_and_out_of_order_when_late_rate_is_one(make_sandbox: Any, receiver: Receiver) -> None:
    sandbox = await make_sandbox(late_rate=1.0, late_max_s=0.9, seed=7)
    world = await state(sandbox)
    camp = group_named(world, "2026秋季训练营1群")
    queued: list[str] = []
    for name in ("糖糖🍬", "老周", "晴天☀️", "阿杰", "大刘", "Kevin"):
        customer = customer_named(world, name)["external_userid"]
        await act(sandbox, "join-group", customer=customer, group=camp["chat_id"], scene="qr")
        queued.append(customer)
    await settle(sandbox)
    arrived = [d.event["MemChangeList"]["Item"] for d in receiver.delivered]
    assert sorted(arrived) == sorted(queued)
    assert arrived != queued
    delays = [e["delayed_s"] for e in await log(sandbox)]
    assert all(0.5 <= d <= 0.9 for d in delays)


async def test_chaos_changes_at_run_time_when_admin_posts_new_rates(sandbox: Client, receiver: Receiver) -> None:
    status, chaos = await post_json(sandbox, "/sandbox/chaos", {"duplicate_rate": 1, "late_max_s": 0.5})
    assert status == 200
    assert chaos == {"duplicate_rate": 1.0, "late_rate": 0.0, "late_max_s": 0.5}
    await _add_candy(sandbox)
    await settle(sandbox)
    assert len(receiver.delivered) == 2
    status, data = await post_json(sandbox, "/sandbox/chaos", {"late_rate": 2})
    assert (status, data["error"]["code"]) == (400, "bad_rate")


async def test_pending_counts_deliveries_when_they_are_held_back(make_sandbox: Any) -> None:
    sandbox = await make_sandbox(late_rate=1.0, late_max_s=0.5)
    await _add_candy(sandbox)
    async with sandbox.get("/sandbox/pending") as response:
        assert (await response.json())["pending"] == 1
    await settle(sandbox)


async def test_log_returns_only_newer_entries_when_since_is_given(sandbox: Client, receiver: Receiver) -> None:
    await _add_candy(sandbox)
    await settle(sandbox)
    entries = await log(sandbox)
    assert [e["seq"] for e in entries] == [1]
    entry = entries[0]
    assert entry["kind"] == "callback" and entry["at"].endswith("+00:00")
    assert entry["event"] == "change_external_contact" and entry["change_type"] == "add_external_contact"
    assert entry["plaintext"] == receiver.delivered[0].plaintext
    assert await log(sandbox, since=1) == []


async def test_log_file_gets_one_json_line_per_attempt_when_configured(
    make_sandbox: Any, receiver: Receiver, tmp_path: Path
) -> None:
    path = tmp_path / "deliveries.jsonl"
    sandbox = await make_sandbox(log_file=path)
    receiver.script = ["500"]
    await _add_candy(sandbox)
    await settle(sandbox)
    for _ in range(100):
        if path.exists() and len(path.read_text(encoding="utf-8").splitlines()) == 2:
            break
        await asyncio.sleep(0.01)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(line["attempt"], line["outcome"]) for line in lines] == [(1, "http_500"), (2, "ok")]
    assert "糖糖" not in lines[0]["plaintext"]  # events carry ids only, never names
