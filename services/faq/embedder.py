"""The optional semantic scorer: embeddings of the KB variants, cosine against a query, fused with the lexical score."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from services.faq.types import Embedder

# Variants are embedded in batches of this many texts per call (OpenAI-compatible servers cap a request's inputs).
BATCH: Final = 64
# The near-miss cosines that place the lift's floor come from at most this many variants (evenly spread).
FLOOR_SAMPLES: Final = 300


class EmbedderError(Exception):
    """The embedder could not answer (unreachable, HTTP error, malformed reply): the matcher falls back to lexical."""


def fuse(lexical: float, cosine: float, weight: float) -> float:
    """A convex blend of the lexical similarity and the cosine (negative cosines count as 0), in 0..1."""
    return max(0.0, min(1.0, (1.0 - weight) * lexical + weight * max(0.0, cosine)))


def lift(lexical: float, cosine: float, weight: float, floor: float) -> float:
    """The lexical similarity plus `weight` x the cosine's excess over `floor`, rescaled to 0..1: what a real
    sentence model says beyond what it says of any two texts of this KB."""
    if floor >= 1.0:
        return lexical
    return lexical + weight * max(0.0, cosine - floor) / (1.0 - floor)


def near_miss_floor(matrix: npt.NDArray[np.float32], entries: Sequence[str], quantile: float) -> float:
    """The `quantile` percentile of each (sampled) variant's best cosine to a variant of ANOTHER entry: how alike
    this model finds two questions of this KB that are not paraphrases. 0 when the KB has a single entry."""
    labels = np.asarray(entries)
    rows = np.arange(0, len(labels), max(1, len(labels) // FLOOR_SAMPLES))
    cos = matrix[rows] @ matrix.T
    cos[labels[rows][:, None] == labels[None, :]] = -1.0
    best = cos.max(axis=1)
    best = best[best > -1.0]
    return float(np.percentile(best, quantile)) if best.size else 0.0


def _unit_rows(vectors: Sequence[Sequence[float]]) -> npt.NDArray[np.float32]:
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError("embedder: expected one vector per text")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: npt.NDArray[np.float32] = matrix / norms
    return unit


class EmbeddingIndex:
    """The KB variants' unit vectors, fetched once (lazily, on the first query) and reused for every query."""

    def __init__(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        entries: Sequence[str] | None = None,
        floor_quantile: float = 90.0,
    ) -> None:
        self._embedder: Final = embedder
        self._entries: Final = list(entries) if entries is not None else list(texts)
        self._floor_quantile: Final = floor_quantile
        # Set with the KB's vectors: the near-miss cosine the "lift" fusion counts from (see near_miss_floor).
        self.floor = 0.0
        # A question the synonyms rewrite is indexed twice (rewritten and as written): its text is embedded once.
        self._texts: Final = list(dict.fromkeys(texts))
        position = {text: i for i, text in enumerate(self._texts)}
        self._rows: Final = np.asarray([position[t] for t in texts], dtype=np.intp)
        self._matrix: npt.NDArray[np.float32] | None = None
        self._lock: asyncio.Lock | None = None

    async def ensure(self) -> npt.NDArray[np.float32]:
        if self._matrix is not None:
            return self._matrix
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._matrix is None:
                rows: list[list[float]] = []
                for start in range(0, len(self._texts), BATCH):
                    batch = self._texts[start : start + BATCH]
                    vectors = await self._embedder.embed(batch)
                    if len(vectors) != len(batch):
                        raise ValueError(f"embedder: {len(vectors)} vectors for {len(batch)} texts")
                    rows.extend(vectors)
                matrix = _unit_rows(rows)[self._rows]
                self.floor = near_miss_floor(matrix, self._entries, self._floor_quantile)
                self._matrix = matrix
        return self._matrix

    async def cosines(self, query: str) -> npt.NDArray[np.float32]:
        """The cosine of `query` with every variant, in variant order."""
        matrix = await self.ensure()
        (vector,) = await self._embedder.embed([query])
        unit = _unit_rows([vector])[0]
        if unit.shape[0] != matrix.shape[1]:
            raise ValueError("embedder: the query's vector and the KB's vectors differ in length")
        result: npt.NDArray[np.float32] = matrix @ unit
        return result
