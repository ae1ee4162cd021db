"""kf hand-offs that never dead-end, over real HTTP against the sandbox: nobody to take the customer, and an owner
who is not a receiving servicer (95014)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot.channels.wecom.client import WeComClient
from bot.config.service import ServiceSettings
from tests.integration.test_faq import eventually, logged
from tests.support.stack import DEMO, Stack, running_stack


@asynccontextmanager
async def stack_with(database_url: str, **service: Any) -> AsyncIterator[Stack]:
    update = {"service": ServiceSettings(**service)}
    async with running_stack(database_url, settings_update=update, sync_groups_on_start=True) as stack:
        yield stack


async def service_state(stack: Stack, kfid: str, customer: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5)
        state = await client.post("/cgi-bin/kf/service_state/get", {"open_kfid": kfid, "external_userid": customer})
    return int(state["service_state"]), str(state.get("servicer_userid", ""))


async def healthz(stack: Stack) -> dict[str, Any]:
    async with stack.http.get(f"{stack.bot_url}/healthz") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def test_the_customer_is_queued_told_the_truth_and_the_manager_alerted_when_nobody_is_on_duty(
    database_url: str,
) -> None:
    async with stack_with(database_url, managers=("zhaoliu",)) as stack:
        said = await stack.act("kf-say", customer="new", text="我要转人工")
        kfid, customer = said["open_kfid"], said["external_userid"]
        [notice] = await eventually(logged(stack, "kf_send", "已为您排队", touser=customer))
        assert "工作时间（周一至周五 09:00-18:00）" in notice["content"]
        assert await service_state(stack, kfid, customer) == (2, "")
        [alert] = await eventually(logged(stack, "app_message", "客户转人工（待接入）"))
        text = json.dumps(alert, ensure_ascii=False)
        assert "zhaoliu" in text and "没有负责人" in text and "我要转人工" in text
        handoffs = (await healthz(stack))["handoffs"]
        assert handoffs["waiting_in_pool"] == 1 and handoffs["unattended"] == 0 and "warning" not in handoffs


async def test_healthz_warns_of_the_unattended_customer_when_there_are_no_managers_either(database_url: str) -> None:
    async with stack_with(database_url) as stack:
        said = await stack.act("kf-say", customer="new", text="转人工")
        await eventually(logged(stack, "kf_send", "已为您排队", touser=said["external_userid"]))

        async def warned() -> dict[str, Any] | None:
            handoffs: dict[str, Any] = (await healthz(stack))["handoffs"]
            return handoffs if handoffs["unattended"] == 1 else None

        handoffs = await eventually(warned)
        assert "service.managers" in handoffs["warning"]
        assert not await logged(stack, "app_message", "客户转人工")()
        async with stack.http.get(f"{stack.bot_url}/metrics") as resp:
            assert 'qunke_kf_handoffs_total{outcome="pool_unattended"} 1.0' in await resp.text()


async def test_the_owner_hears_the_customer_waits_in_the_pool_when_they_are_not_a_receiving_servicer(
    database_url: str,
) -> None:
    async with stack_with(database_url, on_duty=("wangwu",)) as stack:
        state = await stack.sandbox_state()
        await stack.wait_for_groups(len(state["groups"]))
        aftersales = next(a for a in state["kf_accounts"] if a["name"] == "售后服务")  # lisi has stopped receiving
        jie = next(c for c in state["customers"] if c["name"] == "阿杰")  # lisi's customer, in 会员福利群
        await stack.act("kf-say", customer=jie["external_userid"], open_kfid=aftersales["open_kfid"], text="转人工")
        [alert] = await eventually(logged(stack, "app_message", "客户转人工（待接入）"))
        text = json.dumps(alert, ensure_ascii=False)
        assert "lisi" in text and "待接入池" in text and "「微信客服」" in text and "已转给您接待" not in text
        await eventually(logged(stack, "kf_send", "正在为您转接人工客服", touser=jie["external_userid"]))
        assert await service_state(stack, aftersales["open_kfid"], jie["external_userid"]) == (2, "")
        async with stack.http.get(f"{stack.bot_url}/metrics") as resp:
            assert 'qunke_kf_handoffs_total{outcome="pool_fallback"} 1.0' in await resp.text()


async def test_a_greeting_before_the_request_still_hands_the_customer_off_when_they_ask_for_a_person(
    database_url: str,
) -> None:
    async with stack_with(database_url, managers=("zhaoliu",)) as stack:
        said = await stack.act("kf-say", customer="new", text="你好，我要转人工")
        await eventually(logged(stack, "kf_send", "已为您排队", touser=said["external_userid"]))
        [alert] = await eventually(logged(stack, "app_message", "客户转人工（待接入）"))
        assert "你好，我要转人工" in json.dumps(alert, ensure_ascii=False)
