"""The chat archive: exact decrypted plaintext, seq paging from seq+1, limits, credentials, retention and faults."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sandbox.archive_support import DEMO, archive_config, keypair, pull, pulled, read_item, unwrap_key
from tests.sandbox.conftest import SandboxFactory
from tests.sandbox.sandbox_api import Client, act, customer_named, get_json, group_named, post_json, state


@pytest.fixture
async def archived(make_sandbox: SandboxFactory) -> Client:
    return await make_sandbox(archive=archive_config())


async def _ids(client: Client) -> tuple[str, str, dict[str, Any]]:
    world = await state(client)
    return customer_named(world, "小鹿乱撞🦌")["external_userid"], group_named(world, "新品体验官")["chat_id"], world


async def test_group_message_decrypts_to_exact_plaintext_when_customer_speaks(archived: Client) -> None:
    deer, room, world = await _ids(archived)
    result = await act(archived, "say", **{"as": deer, "in": room, "text": "请问体验装什么时候发货？ "})
    (item,) = await pulled(archived)
    plain = read_item(item)
    others = [m["userid"] for m in group_named(world, "新品体验官")["member_list"] if m["userid"] != deer]
    assert list(plain) == ["msgid", "action", "from", "tolist", "roomid", "msgtime", "msgtype", "text"]
    assert plain == {
        "msgid": item["msgid"],
        "action": "send",
        "from": deer,
        "tolist": others,
        "roomid": room,
        "msgtime": plain["msgtime"],
        "msgtype": "text",
        "text": {"content": "请问体验装什么时候发货？ "},
    }
    assert item["msgid"].endswith("_external") and item["seq"] == 1 == result["message"]["seq"]
    assert item["publickey_ver"] == 1 and result["message"]["msgid"] == item["msgid"]
    assert isinstance(plain["msgtime"], int) and plain["msgtime"] > 10**12  # milliseconds


async def test_one_to_one_chat_has_empty_roomid_when_rep_replies_to_customer(archived: Client) -> None:
    deer, _, _ = await _ids(archived)
    await act(archived, "say", **{"as": deer, "in": "zhangsan", "text": "在吗"})
    await act(archived, "say", member="zhangsan", **{"in": deer, "text": "在的，您说"})
    asked, answered = (read_item(item) for item in await pulled(archived))
    assert (asked["from"], asked["tolist"], asked["roomid"]) == (deer, ["zhangsan"], "")
    assert (answered["from"], answered["tolist"], answered["roomid"]) == ("zhangsan", [deer], "")
    assert asked["msgid"].endswith("_external") and not answered["msgid"].endswith("_external")


async def test_pull_pages_from_seq_plus_one_when_limit_is_smaller_than_backlog(archived: Client) -> None:
    deer, room, _ = await _ids(archived)
    for n in range(5):
        await act(archived, "say", **{"as": deer, "in": room, "text": f"第{n + 1}条"})
    assert [i["seq"] for i in await pulled(archived, seq=0, limit=2)] == [1, 2]
    assert [i["seq"] for i in await pulled(archived, seq=2, limit=2)] == [3, 4]
    tail = await pulled(archived, seq=4, limit=1000)
    assert [i["seq"] for i in tail] == [5] and read_item(tail[0])["text"]["content"] == "第5条"
    assert await pulled(archived, seq=5) == []


@pytest.mark.parametrize("limit", [1001, 0, -1])
async def test_pull_answers_sdk_error_10000_when_limit_is_outside_1_to_1000(archived: Client, limit: int) -> None:
    data = await pull(archived, limit=limit)
    assert data["errcode"] == 10000 and "chatdata" not in data


async def test_pull_is_refused_when_corpid_or_secret_is_wrong(archived: Client) -> None:
    assert (await pull(archived, corpid="ww0000000000000000"))["errcode"] == 10000
    assert (await pull(archived, secret="not-the-archive-secret"))["errcode"] == 10004
    # The app secret is not the 会话内容存档 secret.
    assert (await pull(archived, secret=DEMO.secret))["errcode"] == 10004


async def test_pull_explains_itself_when_archive_has_no_public_key(sandbox: Client) -> None:
    status, data = await post_json(
        sandbox,
        "/sandbox/finance/getchatdata",
        {"corpid": DEMO.corp_id, "secret": DEMO.archive.secret, "seq": 0, "limit": 10},
    )
    assert status == 503
    assert data["errcode"] == 10003 and "SANDBOX_ARCHIVE_PUBLIC_KEY" in data["errmsg"]
    assert (await state(sandbox))["archive"]["enabled"] is False


async def test_pull_skips_messages_when_they_are_older_than_retention(archived: Client) -> None:
    deer, room, _ = await _ids(archived)
    await act(archived, "say", **{"as": deer, "in": room, "text": "三天前的消息"})
    await post_json(archived, "/sandbox/clock/advance", {"seconds": 3 * 86400 + 1})
    await act(archived, "say", **{"as": deer, "in": room, "text": "今天的消息"})
    items = await pulled(archived)
    assert [i["seq"] for i in items] == [2]
    assert read_item(items[0])["text"]["content"] == "今天的消息"


async def test_pull_fails_with_network_error_n_times_when_fault_is_injected(archived: Client) -> None:
    deer, room, _ = await _ids(archived)
    await act(archived, "say", **{"as": deer, "in": room, "text": "hi"})
    status, fault = await post_json(archived, "/sandbox/archive/fault", {"times": 2})
    assert status == 200 and fault == {"errcode": 10001, "remaining": 2}
    assert [(await pull(archived))["errcode"] for _ in range(2)] == [10001, 10001]
    assert [i["seq"] for i in await pulled(archived)] == [1]


async def test_recall_archives_revoke_item_when_sender_withdraws_within_two_minutes(archived: Client) -> None:
    deer, room, _ = await _ids(archived)
    said = await act(archived, "say", **{"as": deer, "in": room, "text": "发错群了"})
    msgid = said["message"]["msgid"]
    recalled = await act(archived, "recall", msgid=msgid)
    original, revoke = (read_item(item) for item in await pulled(archived))
    assert revoke["action"] == "recall" and revoke["msgtype"] == "revoke"
    assert revoke["revoke"] == {"pre_msgid": msgid}
    assert (revoke["from"], revoke["roomid"], revoke["tolist"]) == (deer, room, original["tolist"])
    assert revoke["msgid"] == recalled["message"]["msgid"] != msgid
    status, again = await post_json(archived, "/sandbox/act/recall", {"msgid": msgid})
    assert status == 409 and again["error"]["code"] == "already_recalled"


async def test_recall_is_refused_when_message_is_older_than_two_minutes(archived: Client) -> None:
    deer, room, _ = await _ids(archived)
    said = await act(archived, "say", **{"as": deer, "in": room, "text": "旧消息"})
    await post_json(archived, "/sandbox/clock/advance", {"seconds": 121})
    status, data = await post_json(archived, "/sandbox/act/recall", {"msgid": said["message"]["msgid"]})
    assert status == 409 and data["error"]["code"] == "recall_too_late"


async def test_media_items_carry_archive_fields_when_image_file_and_voice_are_sent(archived: Client) -> None:
    deer, room, _ = await _ids(archived)
    speaker = {"as": deer, "in": room}
    await act(archived, "say-media", kind="image", size=123456, **speaker)
    await act(archived, "say-media", kind="file", filename="报价单.PDF", **speaker)
    await act(archived, "say-media", kind="voice", play_length=7, **speaker)
    image, file, voice = (read_item(item) for item in await pulled(archived))
    assert image["msgtype"] == "image" and set(image["image"]) == {"md5sum", "filesize", "sdkfileid"}
    assert image["image"]["filesize"] == 123456 and len(image["image"]["md5sum"]) == 32
    assert set(file["file"]) == {"md5sum", "filename", "fileext", "filesize", "sdkfileid"}
    assert (file["file"]["filename"], file["file"]["fileext"]) == ("报价单.PDF", "pdf")
    assert set(voice["voice"]) == {"md5sum", "voice_size", "play_length", "sdkfileid"}
    assert voice["voice"]["play_length"] == 7 and voice["voice"]["voice_size"] > 0


async def test_robot_message_comes_from_wb_id_when_robot_speaks(archived: Client) -> None:
    _, room, _ = await _ids(archived)
    await act(archived, "robot-say", group=room, text="今晚8点直播")
    (item,) = await pulled(archived)
    plain = read_item(item)
    assert plain["from"].startswith("wb") and not item["msgid"].endswith("_external")
    status, data = await post_json(archived, "/sandbox/act/robot-say", {"group": room, "text": "x", "robot": "zz1"})
    assert status == 400 and data["error"]["code"] == "bad_robot"


async def test_unknown_msgtype_is_archived_as_given_when_injected(archived: Client) -> None:
    _, room, _ = await _ids(archived)
    body = {"msgtype": "hologram", "content": {"depth": 3, "label": "新品"}, "member": "zhangsan", "in": room}
    await act(archived, "archive-inject", **body)
    await act(archived, "archive-inject", plain={"action": "switch", "time": 1700000000000, "user": "zhangsan"})
    custom, switch = (read_item(item) for item in await pulled(archived))
    assert custom["msgtype"] == "hologram" and custom["hologram"] == {"depth": 3, "label": "新品"}
    assert custom["from"] == "zhangsan" and custom["roomid"] == room
    assert set(switch) == {"msgid", "action", "time", "user"} and switch["action"] == "switch"


async def test_corrupt_items_cannot_be_decrypted_when_injected(archived: Client) -> None:
    await act(archived, "archive-inject-corrupt")
    await act(archived, "archive-inject-corrupt", part="key")
    bad_msg, bad_key = await pulled(archived)
    assert len(unwrap_key(bad_msg)) == 32  # the key is fine, the ciphertext is not
    with pytest.raises(ValueError):
        read_item(bad_msg)
    with pytest.raises(ValueError):
        unwrap_key(bad_key)


async def test_item_cannot_be_unwrapped_when_its_key_version_is_not_configured(archived: Client) -> None:
    await act(archived, "archive-inject-unknown-key", publickey_ver=7)
    (item,) = await pulled(archived)
    assert item["publickey_ver"] == 7
    # The configured private key does not open it (a reader must pick keys by publickey_ver, SDK error 10007).
    with pytest.raises(ValueError):
        read_item(item)
    status, data = await post_json(archived, "/sandbox/act/archive-inject-unknown-key", {"publickey_ver": 1})
    assert status == 400 and data["error"]["code"] == "bad_version"


async def test_state_reports_archive_and_chats_when_messages_exist(archived: Client) -> None:
    deer, room, _ = await _ids(archived)
    await act(archived, "say", **{"as": deer, "in": "zhangsan", "text": "你好"})
    await act(archived, "say", **{"as": deer, "in": room, "text": "大家好"})
    world = await state(archived)
    assert world["archive"] == {
        "enabled": True,
        "last_seq": 2,
        "publickey_ver": 1,
        "retention_days": 3,
        "notify_interval_s": 15.0,
    }
    chat = next(c for c in world["chats"] if c["customer"] == deer and c["member"] == "zhangsan")
    assert (chat["active"], chat["messages"], chat["last_seq"]) == (True, 1, 1)
    view = await get_json(archived, "/sandbox/archive/messages", since="1")
    assert [m["seq"] for m in view["messages"]] == [2] and view["messages"][0]["chat"] == f"room:{room}"


async def test_configured_key_version_is_carried_when_it_is_not_one(make_sandbox: SandboxFactory) -> None:
    sandbox = await make_sandbox(archive=archive_config(key_version=3))
    await act(sandbox, "robot-say", group=(await _ids(sandbox))[1], text="hi")
    (item,) = await pulled(sandbox)
    assert item["publickey_ver"] == 3
    assert isinstance(keypair()[1], rsa.RSAPrivateKey) and read_item(item)["text"] == {"content": "hi"}
