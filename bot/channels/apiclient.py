"""A JSON API client with a cached access_token: typed errors by errcode class, single-flight token refresh.

WeCom's qyapi and the WeChat Official Account API share this envelope ({"errcode", "errmsg", ...}) and token
scheme, so both clients are thin subclasses. `call_once` never retries a send (the sender owns retries, backoff
and pauses); `get`/`post` retry reads internally.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from abc import ABC, abstractmethod
from typing import Any, Final

import aiohttp

# The errcode error is part of the seam with ingest, which reads the directory through this client (its home is
# bot/channel_ports.py so that ingest need not import a channel); the names stay importable from here.
from bot.channel_ports import ApiError, ErrorClass

__all__ = ["ApiError", "ApiUnavailable", "ErrorClass", "JsonObject", "TokenClient", "backoff_s", "is_read_api"]

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]

# Refresh a little before expiry so a request never leaves with a token about to die.
TOKEN_MARGIN_S: Final = 300
READ_RETRIES: Final = 3
# WeCom answers 45033 to "too many concurrent calls" when reading stored data in parallel; it names no number, so
# reads of one API (a last path segment with a get/list/sync word) are capped per process.
_READ_SEGMENT: Final = re.compile(r"(^|_)(get|list|sync)(_|$)")


def is_read_api(path: str) -> bool:
    return bool(_READ_SEGMENT.search(path.rstrip("/").rsplit("/", 1)[-1]))


class ApiUnavailable(Exception):
    """No usable answer: connection failure, timeout, 5xx or a body that is not a JSON object.

    `maybe_sent` is False only when the request provably never reached the server (the connection failed).
    """

    def __init__(self, message: str, *, maybe_sent: bool) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class TokenClient(ABC):
    TOKEN_ERRORS: frozenset[int] = frozenset()
    RATE_LIMIT_ERRORS: frozenset[int] = frozenset({45009, 45033})
    TRANSIENT_ERRORS: frozenset[int] = frozenset({-1})

    def __init__(self, http: aiohttp.ClientSession, api_base: str, timeout_s: float, read_concurrency: int = 8) -> None:
        self._http = http
        self._read_concurrency = read_concurrency
        self._read_slots: dict[str, asyncio.Semaphore] = {}
        self._base = api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    @abstractmethod
    async def _fetch_token(self) -> tuple[str, int]:
        """Ask the API for a token; returns (token, expires_in seconds)."""

    @classmethod
    def classify(cls, errcode: int) -> ErrorClass:
        """Branch on errcode only; errmsg carries hints and request ids and is never parsed."""
        if errcode in cls.TOKEN_ERRORS:
            return ErrorClass.TOKEN
        if errcode in cls.RATE_LIMIT_ERRORS:
            return ErrorClass.RATE_LIMIT
        if errcode in cls.TRANSIENT_ERRORS:
            return ErrorClass.TRANSIENT
        return ErrorClass.PERMANENT

    async def call_once(
        self, method: str, path: str, *, body: JsonObject | None = None, params: dict[str, str] | None = None
    ) -> JsonObject:
        """One call; only a refused token is refreshed and the call repeated (WeCom did not process it)."""
        for attempt in range(2):
            token = await self._access_token()
            if is_read_api(path):
                slots = self._read_slots.setdefault(path, asyncio.Semaphore(self._read_concurrency))
                async with slots:
                    data = await self._request(method, path, {**(params or {}), "access_token": token}, body)
            else:
                data = await self._request(method, path, {**(params or {}), "access_token": token}, body)
            errcode = int(data.get("errcode", 0) or 0)
            if errcode == 0:
                return data
            error_class = self.classify(errcode)
            if error_class is ErrorClass.TOKEN and attempt == 0:
                self._forget_token(token)
                continue
            raise ApiError(path, errcode, str(data.get("errmsg", "")), error_class)
        raise AssertionError("unreachable")

    async def get(self, path: str, params: dict[str, str] | None = None) -> JsonObject:
        return await self._read("GET", path, params, None)

    async def post(self, path: str, body: JsonObject) -> JsonObject:
        return await self._read("POST", path, None, body)

    async def _read(self, method: str, path: str, params: dict[str, str] | None, body: JsonObject | None) -> JsonObject:
        """A read, retried here with backoff on busy, rate-limit, token and network answers."""
        for attempt in range(READ_RETRIES + 1):
            try:
                return await self.call_once(method, path, body=body, params=params)
            except ApiError as exc:
                if exc.error_class is ErrorClass.PERMANENT or attempt == READ_RETRIES:
                    raise
            except ApiUnavailable:
                if attempt == READ_RETRIES:
                    raise
            await asyncio.sleep(backoff_s(attempt, base=0.2, cap=5.0))
        raise AssertionError("unreachable")

    async def _request(self, method: str, path: str, params: dict[str, str], body: JsonObject | None) -> JsonObject:
        url = f"{self._base}{path}"
        try:
            async with self._http.request(method, url, params=params, json=body, timeout=self._timeout) as resp:
                if resp.status >= 500:
                    raise ApiUnavailable(f"{path}: HTTP {resp.status}", maybe_sent=True)
                data = await resp.json(content_type=None)
        except aiohttp.ClientConnectorError as exc:
            raise ApiUnavailable(f"{path}: cannot connect: {exc}", maybe_sent=False) from exc
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiUnavailable(f"{path}: {type(exc).__name__}: {exc}", maybe_sent=True) from exc
        if not isinstance(data, dict):
            raise ApiUnavailable(f"{path}: the answer is not a JSON object", maybe_sent=True)
        return data

    async def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        async with self._token_lock:  # single flight: concurrent callers wait for one token request
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            token, expires_in = await self._fetch_token()
            self._token = token
            self._token_expires = time.monotonic() + max(60, expires_in - TOKEN_MARGIN_S)
            log.info("%s access token refreshed", type(self).__name__)
            return token

    def _forget_token(self, token: str) -> None:
        # Only the caller holding the stale token clears it, so a burst of 42001s causes one refresh.
        if self._token == token:
            self._token = None

    async def _token_answer(self, path: str, params: dict[str, str]) -> tuple[str, int]:
        data = await self._request("GET", path, params, None)
        errcode = int(data.get("errcode", 0) or 0)
        if errcode != 0 or "access_token" not in data:
            error_class = self.classify(errcode)
            if error_class is ErrorClass.TOKEN:  # a token error from the token endpoint: the credentials are wrong
                error_class = ErrorClass.PERMANENT
            raise ApiError(path, errcode, str(data.get("errmsg", "")), error_class)
        return str(data["access_token"]), int(data.get("expires_in", 7200))


def backoff_s(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with full jitter around the step, so a crowd of retries spreads out."""
    return float(min(cap, base * 2**attempt) * (0.5 + random.random()))
