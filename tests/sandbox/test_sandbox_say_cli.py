"""The chat commands of the sandbox CLI: say, recall, say-media, the archive commands, OA actions and keygen."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

from aiohttp import web
from pytest_aiohttp import AiohttpServer
from typer.testing import CliRunner

from sandbox.archive.crypto import load_archive_public_key
from sandbox.cli.main import app
from tests.sandbox.archive_support import archive_config, pulled, read_item
from tests.sandbox.conftest import SandboxFactory
from tests.sandbox.sandbox_api import Client, customer_named, group_named, state


async def _run(url: str, *args: str) -> Any:
    # The CLI runs its own event loop, so it goes to a thread while this loop keeps serving.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env={"SANDBOX_URL": url})


async def test_say_prints_seq_and_msgid_as_json_when_json_flag_is_given(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(archive=archive_config())
    url = str(sandbox.make_url(""))
    world = await state(sandbox)
    deer = customer_named(world, "小鹿乱撞🦌")["external_userid"]
    room = group_named(world, "新品体验官")["chat_id"]
    result = await _run(url, "say", "--as", deer, "--in", room, "请问怎么参加？", "--json")
    assert result.exit_code == 0, result.output
    said = json.loads(result.output)["message"]
    (item,) = await pulled(sandbox)
    assert (said["seq"], said["msgid"]) == (item["seq"], item["msgid"])
    assert read_item(item)["text"]["content"] == "请问怎么参加？"
    reply = await _run(url, "say", "--member", "zhangsan", "--in", deer, "下周一开始")
    assert reply.exit_code == 0 and "seq 2" in reply.output
    recalled = await _run(url, "recall", "--msgid", said["msgid"], "--json")
    assert json.loads(recalled.output)["message"]["action"] == "recall"
    media = await _run(url, "say-media", "--as", deer, "--in", "zhangsan", "--kind", "voice", "--seconds", "4")
    assert media.exit_code == 0, media.output
    assert read_item((await pulled(sandbox, seq=3))[0])["voice"]["play_length"] == 4


async def test_say_prints_one_line_error_when_customer_is_not_in_the_group(sandbox: Client) -> None:
    world = await state(sandbox)
    candy = customer_named(world, "糖糖🍬")["external_userid"]
    room = group_named(world, "会员福利群")["chat_id"]
    result = await _run(str(sandbox.make_url("")), "say", "--as", candy, "--in", room, "hi")
    assert result.exit_code == 1
    assert "不在客户群「会员福利群」里" in result.output and "Traceback" not in result.output


async def test_say_in_kf_posts_to_the_kf_engine_contract_when_run_from_cli(aiohttp_server: AiohttpServer) -> None:
    received: list[tuple[str, Any]] = []

    async def record(request: web.Request) -> web.Response:
        received.append((request.path, await request.json()))
        return web.json_response({"ok": True, "action": request.path.rsplit("/", 1)[1], "delivery_ids": []})

    stand_in = web.Application()
    stand_in.router.add_post("/sandbox/act/{action}", record)
    url = str((await aiohttp_server(stand_in)).make_url(""))
    customer = await _run(url, "say", "--as", "new", "--in", "kf", "你好", "--open-kfid", "wkAAA")
    servicer = await _run(url, "say", "--member", "wangwu", "--as", "wmX", "--in", "kf", "您好")
    assert customer.exit_code == 0 and servicer.exit_code == 0, customer.output + servicer.output
    assert received == [
        ("/sandbox/act/kf-say", {"customer": "new", "text": "你好", "open_kfid": "wkAAA"}),
        ("/sandbox/act/kf-servicer-say", {"member": "wangwu", "customer": "wmX", "text": "您好"}),
    ]


async def test_archive_commands_inject_and_break_pulls_when_run_from_cli(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(archive=archive_config())
    url = str(sandbox.make_url(""))
    injected = await _run(url, "archive", "inject", "--msgtype", "mystery", "--content", '{"a": 1}', "--json")
    assert injected.exit_code == 0, injected.output
    assert (await _run(url, "archive", "corrupt", "--part", "key")).exit_code == 0
    assert (await _run(url, "archive", "unknown-key", "--version", "9")).exit_code == 0
    items = await pulled(sandbox)
    assert [i["publickey_ver"] for i in items] == [1, 1, 9]
    assert read_item(items[0])["mystery"] == {"a": 1}
    listed = await _run(url, "archive", "messages", "--json")
    assert [row["fault"] for row in json.loads(listed.output)] == ["", "corrupt_key", "unknown_key"]
    assert (await _run(url, "archive", "fault", "--times", "3")).exit_code == 0
    assert json.loads((await _run(url, "archive", "messages", "--json")).output)[0]["seq"] == 1
    bad = await _run(url, "archive", "inject", "--msgtype", "x", "--content", "[1]")
    assert bad.exit_code == 2 and "JSON 对象" in bad.output


async def test_oa_actions_and_state_render_when_run_from_cli(sandbox: Client) -> None:
    url = str(sandbox.make_url(""))
    followed = await _run(url, "act", "oa-follow", "--nickname", "终端粉丝", "--json")
    assert followed.exit_code == 0, followed.output
    openid = json.loads(followed.output)["message"]["openid"]
    said = await _run(url, "act", "oa-say", "在吗", "--openid", openid)
    assert said.exit_code == 0 and "MsgId" in said.output
    shown = await _run(url, "state")
    assert shown.exit_code == 0, shown.output
    assert "公众号粉丝" in shown.output and "终端粉丝" in shown.output and "会话存档：未开启" in shown.output
    assert "成员与客户单聊" in shown.output


def test_archive_keygen_writes_a_private_key_only_the_owner_can_read_when_run(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["archive-keygen", "--out", str(tmp_path / "keys")])
    assert result.exit_code == 0, result.output
    public, private = tmp_path / "keys" / "archive_public.pem", tmp_path / "keys" / "archive_private.pem"
    assert load_archive_public_key(public.read_bytes()).key_size == 2048
    assert private.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    again = runner.invoke(app, ["archive-keygen", "--out", str(tmp_path / "keys")])
    assert again.exit_code == 1 and "已存在" in again.output
    assert runner.invoke(app, ["archive-keygen", "--out", str(tmp_path / "keys"), "--force"]).exit_code == 0
