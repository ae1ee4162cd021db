"""The Official Account API client: cgi-bin/token and customer-service sends, on the bot's one ClientSession."""

from __future__ import annotations

from typing import Final

import aiohttp
from aiohttp import web

from bot.channels.apiclient import TokenClient

TOKEN_PATH: Final = "/cgi-bin/token"
CUSTOM_SEND_PATH: Final = "/cgi-bin/message/custom/send"
OUT_OF_WINDOW: Final = 45015  # the follower has not interacted within the window
OVER_COUNT: Final = 45047  # the window's message count is spent


class OfficialAccountClient(TokenClient):
    # On the OA API 40001 also means "access_token invalid or not the latest" (wechatpy refreshes on it too).
    TOKEN_ERRORS = frozenset({40001, 40014, 41001, 42001})

    def __init__(self, http: aiohttp.ClientSession, api_base: str, app_id: str, secret: str, timeout_s: float) -> None:
        super().__init__(http, api_base, timeout_s)
        self._app_id, self._secret = app_id, secret

    async def _fetch_token(self) -> tuple[str, int]:
        params = {"grant_type": "client_credential", "appid": self._app_id, "secret": self._secret}
        return await self._token_answer(TOKEN_PATH, params)


# The one OA client of the process (set by the delivery step when the OA is configured): the sender and the follower
# lookup share its token, since each new OA token fetched retires the previous one after a few minutes.
OA_CLIENT: Final = web.AppKey("oa_client", OfficialAccountClient)
