"""OA template messages (sandbox/oa_template.py): delivered to a follower without any window; refused for an
unknown template, an unknown or unsubscribed openid, or a field the template does not have; every call logged."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.config import SandboxConfigError
from sandbox.oa.template import parse_templates
from tests.sandbox.sandbox_api import Client, act, log, post_json
from tests.sandbox.test_sandbox_oa_api import _oa_token, _openid


async def _template(sandbox: Client, token: str, openid: str, **changes: Any) -> dict[str, Any]:
    body = {
        "touser": openid,
        "template_id": "qunke_demo_activity",
        "url": "https://example.com/1212",
        "data": {"thing1": {"value": "双十二专享"}, "time2": {"value": "12月12日 20:00"}},
        **changes,
    }
    status, data = await post_json(sandbox, "/oa/cgi-bin/message/template/send", body, access_token=token)
    assert status == 200
    return data


async def test_template_reaches_a_follower_when_no_window_is_open(sandbox: Client) -> None:
    token, openid = await _oa_token(sandbox), await _openid(sandbox, "老周")
    data = await _template(sandbox, token, openid)
    assert data["errcode"] == 0 and isinstance(data["msgid"], int), data
    (entry,) = [e for e in await log(sandbox) if e["kind"] == "oa_template"]
    assert entry["touser"] == openid and entry["text"] == "thing1: 双十二专享\ntime2: 12月12日 20:00"


async def test_template_is_refused_with_wechats_code_when_the_request_is_wrong(sandbox: Client) -> None:
    token, openid = await _oa_token(sandbox), await _openid(sandbox, "王姐(宝妈)")
    assert (await _template(sandbox, token, openid, template_id="nope"))["errcode"] == 40037
    assert (await _template(sandbox, token, "o" + "x" * 27))["errcode"] == 40003
    assert (await _template(sandbox, token, openid, data={"keyword9": {"value": "x"}}))["errcode"] == 47003
    await act(sandbox, "oa-unfollow", openid=openid)
    assert (await _template(sandbox, token, openid))["errcode"] == 43004
    assert len([e for e in await log(sandbox) if e["kind"] == "oa_template_rejected"]) == 4


def test_template_library_setting_is_read_or_refused_naming_the_entry_when_it_is_wrong() -> None:
    assert parse_templates("tpl1:thing1|time2, tpl2:thing1") == {"tpl1": ("thing1", "time2"), "tpl2": ("thing1",)}
    with pytest.raises(SandboxConfigError, match="SANDBOX_OA_TEMPLATES: expected template_id:key1"):
        parse_templates("tpl1")
