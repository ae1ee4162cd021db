"""gettoken and the access_token gate: 40013/40001 on bad credentials, 41001/40014/42001 on bad tokens."""

from __future__ import annotations

from tests.sandbox.sandbox_api import DEMO, Client, get_json, post_json, token


async def _user_get(sandbox: Client, **params: str) -> dict[str, object]:
    return await get_json(sandbox, "/cgi-bin/user/get", userid="zhangsan", **params)


async def test_gettoken_returns_same_token_when_called_twice_within_validity(sandbox: Client) -> None:
    first = await get_json(sandbox, "/cgi-bin/gettoken", corpid=DEMO.corp_id, corpsecret=DEMO.secret)
    second = await get_json(sandbox, "/cgi-bin/gettoken", corpid=DEMO.corp_id, corpsecret=DEMO.secret)
    assert first["errcode"] == 0 and first["errmsg"] == "ok"
    assert first["expires_in"] == 7200
    assert 0 < len(first["access_token"].encode()) <= 512
    assert second["access_token"] == first["access_token"]


async def test_gettoken_answers_40013_when_corpid_is_wrong(sandbox: Client) -> None:
    data = await get_json(sandbox, "/cgi-bin/gettoken", corpid="wwnotours", corpsecret=DEMO.secret)
    assert data["errcode"] == 40013
    assert "access_token" not in data


async def test_gettoken_answers_40001_when_secret_is_wrong(sandbox: Client) -> None:
    data = await get_json(sandbox, "/cgi-bin/gettoken", corpid=DEMO.corp_id, corpsecret="wrong")
    assert data["errcode"] == 40001


async def test_gettoken_answers_missing_codes_when_parameters_are_absent(sandbox: Client) -> None:
    assert (await get_json(sandbox, "/cgi-bin/gettoken"))["errcode"] == 41002
    assert (await get_json(sandbox, "/cgi-bin/gettoken", corpid=DEMO.corp_id))["errcode"] == 41004


async def test_api_answers_41001_when_access_token_is_missing(sandbox: Client) -> None:
    data = await _user_get(sandbox)
    assert data["errcode"] == 41001


async def test_api_answers_40014_when_access_token_is_unknown(sandbox: Client) -> None:
    await token(sandbox)
    data = await _user_get(sandbox, access_token="made-up")
    assert data["errcode"] == 40014
    # Like WeCom, errmsg carries a hint: clients must branch on errcode, never on the text.
    assert isinstance(data["errmsg"], str) and "hint:" in data["errmsg"] and "e=40014" in data["errmsg"]


async def test_api_answers_42001_when_clock_passes_expiry(sandbox: Client) -> None:
    access_token = await token(sandbox)
    assert (await _user_get(sandbox, access_token=access_token))["errcode"] == 0
    status, _ = await post_json(sandbox, "/sandbox/clock/advance", {"seconds": 7199})
    assert status == 200
    assert (await _user_get(sandbox, access_token=access_token))["errcode"] == 0
    await post_json(sandbox, "/sandbox/clock/advance", {"seconds": 1})
    assert (await _user_get(sandbox, access_token=access_token))["errcode"] == 42001
    fresh = await token(sandbox)
    assert fresh != access_token
    assert (await _user_get(sandbox, access_token=fresh))["errcode"] == 0
    assert (await _user_get(sandbox, access_token=access_token))["errcode"] == 42001


async def test_repeat_gettoken_does_not_extend_validity_when_token_is_reused(sandbox: Client) -> None:
    access_token = await token(sandbox)
    await post_json(sandbox, "/sandbox/clock/advance", {"seconds": 7000})
    assert await token(sandbox) == access_token
    await post_json(sandbox, "/sandbox/clock/advance", {"seconds": 200})
    assert (await _user_get(sandbox, access_token=access_token))["errcode"] == 42001


async def test_token_answers_40014_when_admin_invalidates_it_early(sandbox: Client) -> None:
    access_token = await token(sandbox)
    status, data = await post_json(sandbox, "/sandbox/token/invalidate")
    assert (status, data) == (200, {"invalidated": True})
    assert (await _user_get(sandbox, access_token=access_token))["errcode"] == 40014
    assert await token(sandbox) != access_token


async def test_clock_advance_is_refused_when_seconds_are_negative(sandbox: Client) -> None:
    status, data = await post_json(sandbox, "/sandbox/clock/advance", {"seconds": -5})
    assert status == 400
    assert data["error"]["code"] == "bad_seconds"
