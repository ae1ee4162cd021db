"""The say action: who may speak where, the bilingual refusals, and kf messages handed to the kf engine."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import (
    FAST,
    Client,
    act,
    customer_named,
    get_json,
    group_named,
    post_json,
    state,
    to_receiver,
)


async def _refused(sandbox: Client, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    status, data = await post_json(sandbox, "/sandbox/act/say", body)
    error: dict[str, Any] = data["error"]
    return status, error


async def test_say_is_refused_in_chinese_and_english_when_customer_is_not_in_the_group(sandbox: Client) -> None:
    world = await state(sandbox)
    candy = customer_named(world, "糖糖🍬")["external_userid"]
    room = group_named(world, "2026秋季训练营1群")["chat_id"]
    status, error = await _refused(sandbox, {"as": candy, "in": room, "text": "我也想进群"})
    assert (status, error["code"]) == (409, "not_in_group")
    assert "糖糖🍬 不在客户群「2026秋季训练营1群」里" in error["message"]
    assert f"{candy} is not a member of group {room}" in error["message"]
    assert (await state(sandbox))["archive"]["last_seq"] == 0


async def test_say_is_refused_when_member_is_not_in_the_group(sandbox: Client) -> None:
    room = group_named(await state(sandbox), "新品体验官")["chat_id"]
    status, error = await _refused(sandbox, {"member": "wangwu", "in": room, "text": "hi"})
    assert (status, error["code"]) == (409, "not_in_group")


async def test_one_to_one_say_is_refused_when_there_is_no_contact_relationship(sandbox: Client) -> None:
    deer = customer_named(await state(sandbox), "小鹿乱撞🦌")["external_userid"]
    status, error = await _refused(sandbox, {"as": deer, "in": "wangwu", "text": "你好"})
    assert (status, error["code"]) == (409, "not_a_contact")
    status, error = await _refused(sandbox, {"member": "wangwu", "in": deer, "text": "你好"})
    assert (status, error["code"]) == (409, "not_a_contact")


async def test_say_is_refused_when_speaker_or_target_is_wrong(sandbox: Client) -> None:
    deer = customer_named(await state(sandbox), "小鹿乱撞🦌")["external_userid"]
    cases = [
        ({"as": deer, "member": "zhangsan", "in": "zhangsan", "text": "x"}, 400, "bad_speaker"),
        ({"in": "zhangsan", "text": "x"}, 400, "bad_speaker"),
        ({"as": deer, "in": "wrNOPE", "text": "x"}, 404, "unknown_target"),
        ({"as": "wmNOPE", "in": "zhangsan", "text": "x"}, 404, "unknown_customer"),
        ({"as": deer, "in": "zhangsan", "text": "   "}, 400, "missing_field"),
    ]
    for body, expected_status, expected_code in cases:
        status, error = await _refused(sandbox, body)
        assert (status, error["code"]) == (expected_status, expected_code), body


async def test_say_keeps_the_text_exactly_when_it_has_spaces_and_markup(sandbox: Client) -> None:
    deer = customer_named(await state(sandbox), "小鹿乱撞🦌")["external_userid"]
    text = "  <script>alert(1)</script>\n第二行 "
    await act(sandbox, "say", **{"as": deer, "in": "zhangsan", "text": text})
    (item,) = (await get_json(sandbox, "/sandbox/archive/messages"))["messages"]
    assert item["message"]["text"] == {"content": text}


async def test_say_in_kf_is_posted_to_the_kf_engine_when_a_customer_or_servicer_speaks(
    receiver: Receiver, aiohttp_client: AiohttpClient
) -> None:
    # The kf engine lives on another branch; a stand-in records what `say` hands it, per its contract.
    received: list[tuple[str, dict[str, Any]]] = []

    async def stand_in(request: web.Request) -> web.Response:
        received.append((request.path, await request.json()))
        return web.json_response({"ok": True, "action": request.path.rsplit("/", 1)[1], "msgid": "kf1"}, status=201)

    app = create_app(SandboxConfig(**{**FAST, **to_receiver(receiver.url)}))
    app.router.add_post("/sandbox/act/kf-say", stand_in)
    app.router.add_post("/sandbox/act/kf-servicer-say", stand_in)
    sandbox = await aiohttp_client(app)
    status, relayed = await post_json(sandbox, "/sandbox/act/say", {"as": "new", "in": "kf", "text": "你好客服"})
    assert (status, relayed["msgid"]) == (201, "kf1")
    deer = customer_named(await state(sandbox), "小鹿乱撞🦌")["external_userid"]
    body = {"member": "wangwu", "as": deer, "in": "kf", "text": "您好，我是客服王五"}
    assert (await post_json(sandbox, "/sandbox/act/say", body))[0] == 201
    assert received == [
        ("/sandbox/act/kf-say", {"customer": "new", "text": "你好客服"}),
        ("/sandbox/act/kf-servicer-say", {"member": "wangwu", "customer": deer, "text": "您好，我是客服王五"}),
    ]


async def test_say_in_kf_is_handed_to_the_kf_engine_and_lands_in_the_kf_chat(sandbox: Client) -> None:
    async with sandbox.post("/sandbox/act/say", json={"as": "new", "in": "kf", "text": "客服你好"}) as response:
        assert response.status == 200, await response.text()
    chats = (await get_json(sandbox, "/sandbox/kf/chats"))["chats"]
    texts = [m.get("message", m).get("text", {}).get("content") for chat in chats for m in chat["messages"]]
    assert "客服你好" in texts


async def test_page_ships_the_chat_simulator_without_markup_injection_when_opened(sandbox: Client) -> None:
    async with sandbox.get("/sandbox/") as response:
        html = await response.text()
    assert "会话模拟" in html and "/sandbox/static/chats.js" in html and 'id="chat-speaker"' in html
    scripts = []
    for name in ("chats.js", "render.js", "simulator.js", "chat_rows.js"):
        async with sandbox.get(f"/sandbox/static/{name}") as response:
            assert response.status == 200 and response.content_type == "application/javascript"
            scripts.append(await response.text())
    for script in scripts:
        assert "innerHTML" not in script and "insertAdjacentHTML" not in script
        assert "http://" not in script and "https://" not in script  # nothing remote
    # One poll of /sandbox/feed brings the archive, OA conversations and kf chats; actions go to /sandbox/act/.
    assert "/sandbox/feed" in scripts[2] and "/sandbox/act/" in scripts[0]
    assert (await get_json(sandbox, "/sandbox/oa/messages"))["messages"] == []
