"""企业微信登录 end to end over real HTTP: the console sends the browser to the sandbox's login page, the member
confirms, the code comes back and the bot's WeCom client exchanges it with auth/getuserinfo at the sandbox."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
from sqlalchemy import select

from bot.console_login import login_url
from storage.models.console import AuditEntry
from tests.support.console_world import World, client, running_console
from tests.support.wecom_login_world import SANDBOX, console_with_wecom_login


async def _sign_in(http: aiohttp.ClientSession, world: World, choice: str) -> tuple[aiohttp.ClientResponse, str, str]:
    """Click 企业微信登录, pick `choice` on the sandbox's page; returns the console's answer to the callback."""
    async with http.get(f"{world.base}/console/login/wecom", allow_redirects=False) as out:
        assert out.status == 302
        login_page = out.headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(login_page).query).items()}
    assert query["redirect_uri"] == f"{world.base}/console/login/wecom/callback" and query["appid"] == SANDBOX.corp_id
    confirm = login_page.split("/wwlogin/")[0] + "/wwlogin/sso/confirm"
    async with http.post(confirm, data={**query, "userid": choice}, allow_redirects=False) as picked:
        assert picked.status == 302, await picked.text()
        back = picked.headers["Location"]
    async with http.get(back, allow_redirects=False) as answer:
        return answer, await answer.text(), back


async def test_member_with_an_account_is_logged_in_when_wecom_login_confirms(database_url: str) -> None:
    async with console_with_wecom_login(database_url) as world, client() as http:
        async with http.get(f"{world.base}/console/login") as page:
            assert "企业微信登录" in await page.text()
        answer, _, back = await _sign_in(http, world, "zhangsan")
        assert answer.status == 302 and answer.headers["Location"] == "/console/"
        async with http.get(f"{world.base}/console/") as home:
            assert home.status == 200 and "zhang（销售）" in await home.text()
        async with world.sessions() as session:
            assert "login" in list(await session.scalars(select(AuditEntry.action)))
        async with http.get(back, allow_redirects=False) as replay:  # the state cookie went with the login
            assert replay.status in (401, 403)


async def test_member_without_an_account_is_refused_in_chinese_when_wecom_login_confirms(database_url: str) -> None:
    async with console_with_wecom_login(database_url) as world, client() as http:
        answer, text, _ = await _sign_in(http, world, "zhaoliu")
        assert answer.status == 403
        assert "企业微信成员「zhaoliu」还没有控制台账号，请联系管理员开通" in text
        async with http.get(f"{world.base}/console/", allow_redirects=False) as home:
            assert home.status == 302  # still logged out


async def test_outsider_and_forged_state_are_refused_when_coming_back(database_url: str) -> None:
    async with console_with_wecom_login(database_url) as world, client() as http:
        answer, text, _ = await _sign_in(http, world, "__wechat_user__")
        assert answer.status == 403 and "只有本企业的成员可以登录控制台" in text
        async with http.get(f"{world.base}/console/login/wecom/callback", params={"code": "x", "state": "forged"}) as r:
            assert r.status == 403 and "state 不符" in await r.text()


async def test_login_page_offers_no_wecom_login_when_it_is_not_configured(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        async with http.get(f"{world.base}/console/login") as page:
            assert "企业微信登录" not in await page.text()
        async with http.get(f"{world.base}/console/login/wecom", allow_redirects=False) as out:
            assert out.status == 404


def test_login_url_is_wecoms_own_host_when_the_api_is_the_real_one() -> None:
    assert login_url("https://qyapi.weixin.qq.com") == "https://login.work.weixin.qq.com/wwlogin/sso/login"
    assert login_url("http://127.0.0.1:9/") == "http://127.0.0.1:9/wwlogin/sso/login"
