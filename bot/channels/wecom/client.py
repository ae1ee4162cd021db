"""The qyapi client: one ClientSession, a cached token with single-flight refresh, errors typed by errcode class."""

from __future__ import annotations

from typing import Final

import aiohttp

from bot.channels.apiclient import ApiError, ApiUnavailable, ErrorClass, JsonObject, TokenClient

__all__ = ["ErrorClass", "JsonObject", "WeComApiError", "WeComClient", "WeComUnavailable"]

# Old names, kept for the directory: every non-zero errcode is an ApiError, every missing answer ApiUnavailable.
WeComApiError = ApiError
WeComUnavailable = ApiUnavailable

GETTOKEN_PATH: Final = "/cgi-bin/gettoken"


class WeComClient(TokenClient):
    # 40014 invalid, 41001 missing, 42001 expired (WECOM.md §3.1).
    TOKEN_ERRORS = frozenset({40014, 41001, 42001})

    def __init__(
        self,
        http: aiohttp.ClientSession,
        api_base: str,
        corp_id: str,
        secret: str,
        timeout_s: float,
        read_concurrency: int = 8,
    ) -> None:
        super().__init__(http, api_base, timeout_s, read_concurrency)
        self._corp_id, self._secret = corp_id, secret

    async def _fetch_token(self) -> tuple[str, int]:
        return await self._token_answer(GETTOKEN_PATH, {"corpid": self._corp_id, "corpsecret": self._secret})
