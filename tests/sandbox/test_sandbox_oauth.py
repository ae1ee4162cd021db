"""The simulated WeCom web login: the page lists members, confirming redirects back with code and state, and
auth/getuserinfo exchanges a code once for the userid (or an openid for a WeChat user outside the corp)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sandbox.config import SandboxConfig
from tests.sandbox.sandbox_api import Client, get_json, token

DEMO = SandboxConfig()
BACK = "http://127.0.0.1:9/console/login/wecom/callback"


def _login(**extra: str) -> dict[str, str]:
    return {"login_type": "CorpApp", "appid": DEMO.corp_id, "agentid": "1000002", "redirect_uri": BACK, **extra}


async def _confirm(sandbox: Client, userid: str, state: str = "s1") -> dict[str, list[str]]:
    async with sandbox.post(
        "/wwlogin/sso/confirm", data={**_login(state=state), "userid": userid}, allow_redirects=False
    ) as r:
        assert r.status == 302, await r.text()
        target = urlsplit(r.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == BACK
    return parse_qs(target.query)


async def test_login_page_lists_members_when_the_request_names_this_corp(sandbox: Client) -> None:
    async with sandbox.get("/wwlogin/sso/login", params=_login(state="abc")) as page:
        html = await page.text()
    assert page.status == 200 and 'data-userid="zhangsan"' in html and "非企业成员" in html
    async with sandbox.get("/wwlogin/sso/login", params=_login(appid="wwother")) as page:
        assert page.status == 400 and "appid" in await page.text()


async def test_code_is_exchanged_once_for_the_userid_when_a_member_confirms(sandbox: Client) -> None:
    back = await _confirm(sandbox, "zhangsan", state="xyz")
    assert back["state"] == ["xyz"]
    code = back["code"][0]
    access_token = await token(sandbox)
    data = await get_json(sandbox, "/cgi-bin/auth/getuserinfo", access_token=access_token, code=code)
    assert (data["errcode"], data["userid"]) == (0, "zhangsan")
    again = await get_json(sandbox, "/cgi-bin/auth/getuserinfo", access_token=access_token, code=code)
    assert again["errcode"] == 40029


async def test_outsider_gets_an_openid_and_no_userid_when_not_a_member(sandbox: Client) -> None:
    code = (await _confirm(sandbox, "__wechat_user__"))["code"][0]
    data = await get_json(sandbox, "/cgi-bin/auth/getuserinfo", access_token=await token(sandbox), code=code)
    assert data["errcode"] == 0 and data["openid"] and "userid" not in data


async def test_getuserinfo_needs_a_token_and_a_code_when_called(sandbox: Client) -> None:
    data = await get_json(sandbox, "/cgi-bin/auth/getuserinfo", code="whatever")
    assert data["errcode"] == 41001
    data = await get_json(sandbox, "/cgi-bin/auth/getuserinfo", access_token=await token(sandbox))
    assert data["errcode"] == 41008
