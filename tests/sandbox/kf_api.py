"""Typed kf calls against a sandbox under test: the qyapi kf endpoints, the kf actions and the callbacks' tokens."""

from __future__ import annotations

from typing import Any

from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, act, customer_named, get_json, log, post_json, settle, state, token

OFFICIAL = "群客官方客服"
AFTER_SALES = "售后服务"
DAY = 86_400


async def kfid(sandbox: Client, name: str = OFFICIAL) -> str:
    accounts = (await state(sandbox))["kf_accounts"]
    found: str = next(a["open_kfid"] for a in accounts if a["name"] == name)
    return found


async def customer(sandbox: Client, name: str) -> str:
    found: str = customer_named(await state(sandbox), name)["external_userid"]
    return found


async def qyapi(sandbox: Client, api: str, body: Any) -> dict[str, Any]:
    """POST /cgi-bin/kf/<api> with a fresh access_token; WeCom answers errors with HTTP 200 too."""
    status, data = await post_json(sandbox, f"/cgi-bin/kf/{api}", body, access_token=await token(sandbox))
    assert status == 200, data
    return data


async def sync(sandbox: Client, **body: Any) -> dict[str, Any]:
    return await qyapi(sandbox, "sync_msg", body)


async def say(sandbox: Client, who: str, text: str, **extra: Any) -> dict[str, Any]:
    return await act(sandbox, "kf-say", customer=who, text=text, **extra)


async def send_text(sandbox: Client, open_kfid: str, touser: str, text: str, **extra: Any) -> dict[str, Any]:
    body = {"touser": touser, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": text}, **extra}
    return await qyapi(sandbox, "send_msg", body)


async def trans(sandbox: Client, open_kfid: str, who: str, target: int, servicer: str = "") -> dict[str, Any]:
    body = {"open_kfid": open_kfid, "external_userid": who, "service_state": target, "servicer_userid": servicer}
    return await qyapi(sandbox, "service_state/trans", body)


async def service_state(sandbox: Client, open_kfid: str, who: str) -> dict[str, Any]:
    return await qyapi(sandbox, "service_state/get", {"open_kfid": open_kfid, "external_userid": who})


async def advance(sandbox: Client, seconds: float) -> None:
    status, data = await post_json(sandbox, "/sandbox/clock/advance", {"seconds": seconds})
    assert status == 200, data


async def entries(sandbox: Client, kind: str) -> list[dict[str, Any]]:
    return [entry for entry in await log(sandbox) if entry["kind"] == kind]


async def chats(sandbox: Client, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await get_json(sandbox, "/sandbox/kf/chats", **params))["chats"]
    return found


async def kf_token(sandbox: Client, receiver: Receiver) -> str:
    """The Token of the newest kf_msg_or_event callback the stand-in bot received."""
    await settle(sandbox)
    found: str = [d.event for d in receiver.delivered if d.event["Event"] == "kf_msg_or_event"][-1]["Token"]
    return found


def msgids(page: dict[str, Any]) -> list[str]:
    return [item["msgid"] for item in page["msg_list"]]


def menu(*items: tuple[str, str], head: str = "请为本次服务打分") -> dict[str, Any]:
    """A msgmenu of click items (id, content)."""
    entries = [{"type": "click", "click": {"id": i, "content": c}} for i, c in items]
    return {"head_content": head, "list": entries, "tail_content": "感谢您的反馈"}
