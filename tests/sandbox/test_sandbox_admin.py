"""The admin view of the corp, the seeded demo data and the simulator page."""

from __future__ import annotations

from typing import Any

from pytest_aiohttp import AiohttpClient

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from tests.sandbox.sandbox_api import Client, get_json, group_named, state


async def test_state_shows_the_demo_corp_when_sandbox_starts(sandbox: Client) -> None:
    world = await state(sandbox)
    assert world["corp_id"] == "ww5a1f0c9e2b7d4a31"
    assert [m["userid"] for m in world["members"]] == ["zhangsan", "lisi", "wangwu", "zhaoliu"]
    assert len(world["customers"]) >= 12
    assert {g["name"] for g in world["groups"]} == {"2026秋季训练营1群", "会员福利群", "新品体验官"}
    assert group_named(world, "会员福利群")["owner"] == "lisi"
    unadded = [c for c in world["customers"] if not c["follows"]]
    assert len(unadded) >= 2
    assert {t["name"] for g in world["tag_groups"] for t in g["tags"]} >= {"VIP", "普通"}
    for customer in world["customers"]:
        assert customer["external_userid"].startswith("wm") and 20 <= len(customer["external_userid"]) <= 32


async def test_seed_gives_identical_ids_when_seed_is_the_same(aiohttp_client: AiohttpClient) -> None:
    def ids(world: dict[str, Any]) -> list[str]:
        return [c["external_userid"] for c in world["customers"]] + [g["chat_id"] for g in world["groups"]]

    first = await aiohttp_client(create_app(SandboxConfig(seed=11)))
    again = await aiohttp_client(create_app(SandboxConfig(seed=11)))
    other = await aiohttp_client(create_app(SandboxConfig(seed=12)))
    assert ids(await state(first)) == ids(await state(again))
    assert ids(await state(first)) != ids(await state(other))


async def test_page_is_served_in_chinese_with_strict_csp_when_browser_opens_it(sandbox: Client) -> None:
    async with sandbox.get("/sandbox/") as response:
        assert response.status == 200
        html = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert "客户模拟器" in html and 'lang="zh-CN"' in html
    assert "default-src 'self'" in csp
    assert "http://" not in html and "https://" not in html  # no CDN
    async with sandbox.get("/sandbox/static/simulator.js") as response:
        assert response.status == 200
        script = await response.text()
    # User text only ever reaches the page through textContent.
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    async with sandbox.get("/sandbox/static/secrets.txt") as response:
        assert response.status == 404


async def test_root_redirects_to_simulator_when_opened_without_path(sandbox: Client) -> None:
    async with sandbox.get("/", allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/sandbox/"


async def test_log_refuses_since_when_it_is_not_a_number(sandbox: Client) -> None:
    async with sandbox.get("/sandbox/log", params={"since": "abc"}) as response:
        assert response.status == 400


async def test_chaos_reads_current_rates_when_asked(sandbox: Client) -> None:
    assert await get_json(sandbox, "/sandbox/chaos") == {"duplicate_rate": 0.0, "late_rate": 0.0, "late_max_s": 2.5}
