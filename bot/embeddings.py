"""An OpenAI-compatible `/v1/embeddings` client: the FAQ matcher's optional semantic scorer, on the bot's session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import aiohttp

from bot.config.faq import FaqEmbedderSettings
from services.faq.embedder import EmbedderError

API_KEY_ENV: Final = "QUNKE_EMBEDDINGS_API_KEY"  # read by load_settings into faq.embedder.api_key


class OpenAIEmbedder:
    """POST {"model", "input": [...]} to the endpoint; read `data[i].embedding`, ordered by `data[i].index`."""

    def __init__(
        self, http: aiohttp.ClientSession, url: str, model: str, timeout_s: float, api_key: str | None = None
    ) -> None:
        self._http: Final = http
        self._url: Final = url
        self._model: Final = model
        self._timeout: Final = aiohttp.ClientTimeout(total=timeout_s)
        self._headers: Final = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        payload = {"model": self._model, "input": list(texts)}
        try:
            async with self._http.post(self._url, json=payload, headers=self._headers, timeout=self._timeout) as resp:
                if resp.status != 200:
                    detail = (await resp.text())[:200]
                    raise EmbedderError(f"embeddings endpoint answered HTTP {resp.status}: {detail}")
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise EmbedderError(f"embeddings endpoint unreachable: {exc!r}") from exc
        return _vectors(body, len(texts))


def _vectors(body: Any, expected: int) -> list[list[float]]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != expected:
        raise EmbedderError(f"embeddings endpoint: expected {expected} items in data")
    try:
        ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
        return [[float(x) for x in item["embedding"]] for item in ordered]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EmbedderError(f"embeddings endpoint: malformed data ({exc!r})") from None


def embedder_from_settings(
    http: aiohttp.ClientSession, settings: FaqEmbedderSettings, environ: Mapping[str, str] | None = None
) -> OpenAIEmbedder | None:
    """The configured embedder, or None when `faq.embedder.url` is not set (the default). The API key is the one
    load_settings read from the environment; `environ` overrides it for settings built by hand."""
    if not settings.url:
        return None
    api_key = settings.api_key if environ is None else environ.get(API_KEY_ENV)
    return OpenAIEmbedder(http, settings.url, settings.model, settings.timeout_s, api_key or None)
