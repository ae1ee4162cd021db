"""The optional embedder: the /v1/embeddings client against a local server, fusion, and falling back to lexical."""

from __future__ import annotations

import logging
import zlib
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config.faq import FaqEmbedderSettings
from bot.embeddings import API_KEY_ENV, OpenAIEmbedder, embedder_from_settings
from services.faq.embedder import EmbedderError, fuse, lift, near_miss_floor
from services.faq.match_settings import MatcherSettings
from services.faq.matcher import build_matcher
from services.faq.types import Action, KbItem
from services.text.normalize import normalize

DIMS = 64
ITEMS = [
    KbItem("schedule", ("上课时间是几点", "课表在哪看"), "晚上 7 点半"),
    KbItem("invoice", ("怎么开发票",), "在订单里申请开票"),
    KbItem("refund", ("退款多久到账",), "1–3 个工作日"),
]


def fake_vector(text: str) -> list[float]:
    """Deterministic: character bigrams hashed into DIMS buckets (a stand-in for a real model such as bge-m3)."""
    norm = normalize(text)
    vector = [0.0] * DIMS
    for i in range(len(norm) - 1):
        vector[zlib.crc32(norm[i : i + 2].encode()) % DIMS] += 1.0
    return vector


async def start_embeddings_server(aiohttp_server: Any, seen: list[dict[str, Any]], status: int = 200) -> TestServer:
    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append({"auth": request.headers.get("Authorization"), **body})
        if status != 200:
            return web.json_response({"error": {"message": "overloaded"}}, status=status)
        data = [{"object": "embedding", "index": i, "embedding": fake_vector(t)} for i, t in enumerate(body["input"])]
        data.reverse()  # the wire format allows any order: the client must use `index`
        return web.json_response({"object": "list", "data": data, "model": body["model"], "usage": {}})

    app = web.Application()
    app.router.add_post("/v1/embeddings", embeddings)
    server: TestServer = await aiohttp_server(app)
    return server


async def test_client_speaks_the_openai_wire_format(aiohttp_server: Any) -> None:
    seen: list[dict[str, Any]] = []
    server = await start_embeddings_server(aiohttp_server, seen)
    async with aiohttp.ClientSession() as http:
        settings = FaqEmbedderSettings(url=str(server.make_url("/v1/embeddings")), model="bge-m3")
        embedder = embedder_from_settings(http, settings, environ={API_KEY_ENV: "sk-local"})
        assert embedder is not None
        vectors = await embedder.embed(["怎么开发票", "几点上课"])
    assert vectors == [fake_vector("怎么开发票"), fake_vector("几点上课")]
    assert seen == [{"auth": "Bearer sk-local", "model": "bge-m3", "input": ["怎么开发票", "几点上课"]}]


def test_embedder_is_off_by_default() -> None:
    assert FaqEmbedderSettings().enabled is False

    class NoSession:
        pass

    assert embedder_from_settings(NoSession(), FaqEmbedderSettings()) is None  # type: ignore[arg-type]


async def test_blend_fusion_changes_a_decision_when_the_cosine_disagrees(aiohttp_server: Any) -> None:
    seen: list[dict[str, Any]] = []
    server = await start_embeddings_server(aiohttp_server, seen)
    async with aiohttp.ClientSession() as http:
        embedder = OpenAIEmbedder(http, str(server.make_url("/v1/embeddings")), "bge-m3", timeout_s=5)
        # Frames weigh little since faq-tune, so the lexical score is high: the cosine needs a big share to outvote it.
        settings = MatcherSettings(embedder_weight=0.6, embedder_fusion="blend")
        matcher = build_matcher(ITEMS, settings, embedder)
        lexical = matcher.decide("发票开了没")
        fused = await matcher.adecide("发票开了没")
        again = await matcher.adecide("发票开了没")
    assert lexical.action is Action.ANSWER
    # The bigram "embedding" barely relates the two wordings, so the fused score drops under the answer threshold.
    assert fused.action is Action.SUGGEST and fused.confidence < lexical.confidence
    assert fused.best is not None and fused.best.entry_id == "invoice"
    assert again == fused
    # The KB variants were embedded once (one batch), then one call per query.
    assert [len(call["input"]) for call in seen] == [4, 1, 1]


async def test_embedder_failure_falls_back_to_lexical(aiohttp_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = await start_embeddings_server(aiohttp_server, [], status=503)
    async with aiohttp.ClientSession() as http:
        embedder = OpenAIEmbedder(http, str(server.make_url("/v1/embeddings")), "bge-m3", timeout_s=5)
        with pytest.raises(EmbedderError, match="HTTP 503"):
            await embedder.embed(["x"])
        matcher = build_matcher(ITEMS, MatcherSettings(), embedder)
        with caplog.at_level(logging.WARNING, logger="services.faq.matcher"):
            decision = await matcher.adecide("怎么开发票")
    assert decision == matcher.decide("怎么开发票")
    assert "lexical scores only" in caplog.text


async def test_malformed_reply_is_an_embedder_error(aiohttp_server: Any) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"data": [{"index": 0}]})

    app = web.Application()
    app.router.add_post("/v1/embeddings", broken)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as http:
        embedder = OpenAIEmbedder(http, str(server.make_url("/v1/embeddings")), "m", timeout_s=5)
        with pytest.raises(EmbedderError, match="malformed"):
            await embedder.embed(["x"])


def test_fuse_is_a_bounded_convex_blend() -> None:
    assert fuse(0.8, 0.2, 0.0) == pytest.approx(0.8)
    assert fuse(0.8, 0.2, 1.0) == pytest.approx(0.2)
    assert fuse(0.5, -0.9, 0.5) == pytest.approx(0.25)  # a negative cosine counts as no evidence


async def test_lift_fusion_never_lowers_a_lexical_answer_when_the_cosine_disagrees(aiohttp_server: Any) -> None:
    server = await start_embeddings_server(aiohttp_server, [])
    async with aiohttp.ClientSession() as http:
        embedder = OpenAIEmbedder(http, str(server.make_url("/v1/embeddings")), "bge-m3", timeout_s=5)
        matcher = build_matcher(ITEMS, MatcherSettings(embedder_weight=0.6), embedder)  # the default fusion: lift
        lexical = matcher.decide("发票开了没")
        fused = await matcher.adecide("发票开了没")
    assert lexical.action is Action.ANSWER and fused.action is Action.ANSWER
    assert fused.best is not None and fused.best.entry_id == "invoice"
    assert fused.confidence >= lexical.confidence


def test_lift_counts_only_the_cosine_above_the_floor() -> None:
    assert lift(0.3, 0.7, 0.35, 0.8) == pytest.approx(0.3)  # no more alike than two unrelated questions of the KB
    assert lift(0.3, 0.9, 0.35, 0.8) == pytest.approx(0.3 + 0.35 * 0.5)
    assert lift(0.3, 1.0, 0.35, 0.8) == pytest.approx(0.65)


def test_floor_is_the_near_miss_cosine_between_entries_when_the_kb_is_embedded() -> None:
    # Entry x's two variants are 0.9 alike; each variant's best cosine to the OTHER entry: 0.6, 0.54, 0, 0.6.
    matrix = np.array([[1.0, 0.0, 0.0], [0.9, 0.19**0.5, 0.0], [0.0, 0.0, 1.0], [0.6, 0.0, 0.8]], dtype=np.float32)
    assert near_miss_floor(matrix, ["x", "x", "y", "y"], 100.0) == pytest.approx(0.6, abs=1e-6)
    assert near_miss_floor(matrix, ["x", "x", "y", "y"], 50.0) == pytest.approx(0.57, abs=1e-6)
    assert near_miss_floor(matrix[:2], ["x", "x"], 90.0) == 0.0  # one entry: nothing to tell apart
