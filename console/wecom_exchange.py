"""What the composition root hands the console for WeCom web login: the login page and the code exchange."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


class WecomUnavailable(Exception):
    """The code could not be exchanged: WeCom (or the network to it) gave no usable answer."""


@dataclass(frozen=True, slots=True)
class WecomLogin:
    login_url: str  # https://login.work.weixin.qq.com/wwlogin/sso/login, or the sandbox's
    corp_id: str
    agent_id: str
    # auth/getuserinfo through the bot's WeCom client (the console never talks to WeCom itself): the JSON answer
    # ({"errcode": 0, "userid"} or {"errcode": 0, "openid"} or {"errcode": 40029, ...}); WecomUnavailable otherwise.
    exchange: Callable[[str], Awaitable[dict[str, Any]]]
