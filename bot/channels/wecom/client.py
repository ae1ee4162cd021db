"""The qyapi client: one ClientSession, a cached token with single-flight refresh, errcode-based retries."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any, Final

import aiohttp

log = logging.getLogger(__name__)

TOKEN_ERRORS: Final = frozenset({40014, 42001, 41001})
TRANSIENT_ERRORS: Final = frozenset({-1, 45009, 45033})
# Refresh a little before WeCom's expiry so a request never leaves with a token about to die.
TOKEN_MARGIN_S: Final = 300
RETRIES: Final = 3

JsonObject = dict[str, Any]


class WeComApiError(Exception):
    """WeCom answered with a non-zero errcode that retrying will not fix."""

    def __init__(self, path: str, errcode: int, errmsg: str) -> None:
        super().__init__(f"{path}: errcode {errcode}: {errmsg}")
        self.path, self.errcode, self.errmsg = path, errcode, errmsg


class WeComUnavailable(Exception):
    """WeCom could not be reached or stayed busy through every retry."""


class WeComClient:
    def __init__(self, http: aiohttp.ClientSession, api_base: str, corp_id: str, secret: str, timeout_s: float) -> None:
        self._http = http
        self._base = api_base.rstrip("/")
        self._corp_id, self._secret = corp_id, secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def get(self, path: str, params: dict[str, str] | None = None) -> JsonObject:
        return await self._call("GET", path, params or {}, None)

    async def post(self, path: str, body: JsonObject) -> JsonObject:
        return await self._call("POST", path, {}, body)

    async def _call(self, method: str, path: str, params: dict[str, str], body: JsonObject | None) -> JsonObject:
        for attempt in range(RETRIES + 1):
            token = await self._access_token()
            try:
                data = await self._request(method, path, {**params, "access_token": token}, body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == RETRIES:
                    raise WeComUnavailable(f"{path}: {type(exc).__name__}: {exc}") from exc
                await self._backoff(attempt)
                continue
            errcode = int(data.get("errcode", 0))
            if errcode == 0:
                return data
            if errcode in TOKEN_ERRORS and attempt < RETRIES:
                self._forget_token(token)
                continue
            if errcode in TRANSIENT_ERRORS and attempt < RETRIES:
                await self._backoff(attempt)
                continue
            if errcode in TRANSIENT_ERRORS:
                raise WeComUnavailable(f"{path}: errcode {errcode}")
            raise WeComApiError(path, errcode, str(data.get("errmsg", "")))
        raise WeComUnavailable(f"{path}: retries exhausted")

    async def _request(self, method: str, path: str, params: dict[str, str], body: JsonObject | None) -> JsonObject:
        url = f"{self._base}{path}"
        async with self._http.request(method, url, params=params, json=body, timeout=self._timeout) as resp:
            if resp.status >= 500:
                raise aiohttp.ClientResponseError(resp.request_info, (), status=resp.status, message="server error")
            data = await resp.json(content_type=None)
        if not isinstance(data, dict):
            raise WeComApiError(path, -2, "answer is not a JSON object")
        return data

    async def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        async with self._token_lock:  # single flight: concurrent callers wait for one gettoken
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            data = await self._request(
                "GET", "/cgi-bin/gettoken", {"corpid": self._corp_id, "corpsecret": self._secret}, None
            )
            errcode = int(data.get("errcode", 0))
            if errcode != 0:
                raise WeComApiError("/cgi-bin/gettoken", errcode, str(data.get("errmsg", "")))
            self._token = str(data["access_token"])
            self._token_expires = time.monotonic() + max(60, int(data.get("expires_in", 7200)) - TOKEN_MARGIN_S)
            log.info("wecom access token refreshed")
            return self._token

    def _forget_token(self, token: str) -> None:
        # Only the caller holding the stale token clears it, so a burst of 42001s causes one refresh.
        if self._token == token:
            self._token = None

    @staticmethod
    async def _backoff(attempt: int) -> None:
        await asyncio.sleep(min(5.0, 0.2 * 2**attempt) * (0.5 + random.random()))
