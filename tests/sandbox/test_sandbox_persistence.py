"""The sandbox remembers its corp across restarts: an atomic state file, loaded at start, reset on purpose."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from pytest_aiohttp import AiohttpClient

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.state.file import StateFileError, load_state
from tests.sandbox.archive_support import archive_config, pull
from tests.sandbox.kf_api import customer, kfid, say, sync
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import FAST, Client, act, customer_named, group_named, log, settle, state
from tests.support.postgres import free_port


def _config(receiver: Receiver, path: Path) -> SandboxConfig:
    return SandboxConfig(**{**FAST, "callback_url": receiver.url, "state_file": path, "archive": archive_config()})


async def _restart(client: Client, aiohttp_client: AiohttpClient, config: SandboxConfig) -> Client:
    """Stop the sandbox (its shutdown writes the file), then start a new app from the same file."""
    await client.close()
    return await aiohttp_client(create_app(config))


async def test_corp_survives_a_restart_when_a_state_file_is_set(
    receiver: Receiver, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    config = _config(receiver, tmp_path / "state.json")
    first = await aiohttp_client(create_app(config))
    added = await act(first, "new-customer", name="持久客户")
    newcomer = added["customer"]["external_userid"]
    await act(first, "add-contact", customer=newcomer, member="lisi", state="live0901")
    camp = group_named(await state(first), "2026秋季训练营1群")["chat_id"]
    await act(first, "join-group", customer=newcomer, group=camp)
    made = await act(first, "create-group", owner="lisi", name="重启后还在的群", members=[newcomer])
    deer = customer_named(await state(first), "小鹿乱撞🦌")["external_userid"]
    await act(first, "say", **{"as": deer, "in": "zhangsan", "text": "重启前的话"})
    await settle(first)
    open_kfid = await kfid(first)
    await say(first, await customer(first, "阿杰"), "重启前的客服消息")
    page = await sync(first, open_kfid=open_kfid, cursor="")
    cursor = page["next_cursor"]
    log_before = await log(first)

    second = await _restart(first, aiohttp_client, config)
    after = await state(second)
    kept = customer_named(after, "持久客户")
    assert kept["external_userid"] == newcomer
    assert [f["userid"] for f in kept["follows"]] == ["lisi"] and kept["follows"][0]["state"] == "live0901"
    assert set(kept["groups"]) == {camp, made["group"]["chat_id"]}
    assert after["archive"]["last_seq"] == 1
    assert (await pull(second, seq=0))["chatdata"][0]["seq"] == 1
    # The cursor handed out before the restart is still valid and resumes after the message it covered.
    await say(second, await customer(second, "阿杰"), "重启后的客服消息")
    resumed = await sync(second, open_kfid=open_kfid, cursor=cursor)
    assert resumed["errcode"] == 0, resumed
    assert [m["text"]["content"] for m in resumed["msg_list"]] == ["重启后的客服消息"]
    # The log continues: old entries are there and new ones get higher numbers.
    log_after = await log(second)
    assert [e["seq"] for e in log_after[: len(log_before)]] == [e["seq"] for e in log_before]


async def test_new_ids_after_a_restart_never_repeat_old_ones_when_the_seed_is_the_same(
    receiver: Receiver, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    config = _config(receiver, tmp_path / "state.json")
    first = await aiohttp_client(create_app(config))
    before = (await act(first, "new-customer", name="甲"))["customer"]["external_userid"]
    second = await _restart(first, aiohttp_client, config)
    after = (await act(second, "new-customer", name="乙"))["customer"]["external_userid"]
    assert after != before
    assert {c["name"] for c in (await state(second))["customers"]} >= {"甲", "乙"}


async def test_fresh_start_seeds_the_demo_corp_when_asked_to(
    receiver: Receiver, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    config = _config(receiver, tmp_path / "state.json")
    first = await aiohttp_client(create_app(config))
    await act(first, "new-customer", name="会被清掉")
    await first.close()
    second = await aiohttp_client(create_app(config, fresh=True))
    assert "会被清掉" not in {c["name"] for c in (await state(second))["customers"]}


async def test_state_file_is_valid_json_written_atomically_when_the_sandbox_stops(
    receiver: Receiver, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    path = tmp_path / "nested" / "state.json"
    client = await aiohttp_client(create_app(_config(receiver, path)))
    await act(client, "new-customer", name="落盘")
    await client.close()
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "qunke-sandbox-state"
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


async def test_state_is_saved_soon_after_a_change_when_the_sandbox_keeps_running(
    receiver: Receiver, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    path = tmp_path / "state.json"
    client = await aiohttp_client(create_app(_config(receiver, path)))
    await act(client, "new-customer", name="即时保存")
    deadline = time.monotonic() + 10
    while not path.exists() or "即时保存" not in await asyncio.to_thread(path.read_text, encoding="utf-8"):
        assert time.monotonic() < deadline, "the change was not saved while the sandbox ran"
        await asyncio.sleep(0.1)


def test_corrupt_state_file_is_one_clear_error_when_loading(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"format": "qunke-sandbox-state", "version": 1, "corp', encoding="utf-8")
    try:
        load_state(path)
    except StateFileError as error:
        assert str(path) in str(error) and "reset" in str(error)
    else:
        raise AssertionError("a corrupt file must not load")


def test_state_file_of_the_wrong_shape_is_refused_when_the_app_starts(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"format": "qunke-sandbox-state", "version": 1, "corp_id": "x"}), encoding="utf-8")
    try:
        create_app(SandboxConfig(**{**FAST, "state_file": path}))
    except StateFileError as error:
        assert str(path) in str(error)
    else:
        raise AssertionError("a state file for another corp must not load")


def test_serve_exits_non_zero_naming_the_file_when_it_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("not json", encoding="utf-8")
    # The flag wins over the environment.
    env = {**os.environ, "SANDBOX_STATE_FILE": str(tmp_path / "other.json")}
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--state-file", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    output = " ".join((done.stdout + done.stderr).split())
    assert "state.json" in output and "Traceback" not in output
    assert path.read_text(encoding="utf-8") == "not json"


def _start(port: int, path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--state-file", str(path)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _served(port: int, path: Path) -> subprocess.Popen[bytes]:
    process = _start(port, path)
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/sandbox/pending") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientConnectionError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "the sandbox did not start"
            await asyncio.sleep(0.1)


async def test_served_sandbox_keeps_its_corp_when_stopped_with_sigterm_and_started_again(tmp_path: Path) -> None:
    port, path = free_port(), tmp_path / "state.json"
    base = f"http://127.0.0.1:{port}"
    process = await _served(port, path)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{base}/sandbox/act/new-customer", json={"name": "进程重启"}) as response,
        ):
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 30) == 0
        process = await _served(port, path)
        async with aiohttp.ClientSession() as http, http.get(f"{base}/sandbox/state") as response:
            names = {c["name"] for c in (await response.json())["customers"]}
        assert "进程重启" in names
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)


def test_reset_removes_the_state_file_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{}", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "reset", "--state-file", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert not path.exists()
