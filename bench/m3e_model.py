"""m3e-small in numpy only: the torch checkpoint's loader, the BERT tokenizer and forward pass, mean pooling.

A bench-side stand-in for "an operator's Chinese embedding endpoint" (bench/embed_server.py). moka-ai's M3E models
are NON-COMMERCIAL, research only (their README): never a dependency of Qunke, never shipped with it.
"""

from __future__ import annotations

import json
import pickle
import unicodedata
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
# torch's storage classes (pickled by name) and the numpy dtype of their bytes.
_STORAGE_DTYPES: Final = {
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "DoubleStorage": np.float64,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "BoolStorage": np.bool_,
}
MAX_TOKENS: Final = 512


class _StorageType:
    """What the unpickler returns for `torch.FloatStorage` & co.: just the dtype of the storage's bytes."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self.dtype = dtype


def _rebuild_tensor(
    storage: npt.NDArray[Any], offset: int, size: Sequence[int], stride: Sequence[int], *_: object
) -> npt.NDArray[Any]:
    """torch._utils._rebuild_tensor_v2: a strided view of the storage, copied into a contiguous array."""
    if not size:
        return np.array(storage[offset])
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * item for s in stride), writeable=False
    )
    return np.ascontiguousarray(view)


class _TorchUnpickler(pickle.Unpickler):
    """Reads a torch zip checkpoint's data.pkl without torch; any class other than tensors and dicts is refused."""

    def __init__(self, file: Any, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(file)
        self._archive = archive
        self._prefix = prefix

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        raise pickle.UnpicklingError(f"checkpoint: refusing to load {module}.{name}")

    def persistent_load(self, pid: Any) -> npt.NDArray[Any]:
        # ("storage", storage type, key, location, numel): the bytes are the archive member data/<key>.
        _, storage_type, key, _location, numel = pid
        raw = self._archive.read(f"{self._prefix}/data/{key}")
        return np.frombuffer(raw, dtype=storage_type.dtype, count=int(numel))


def load_state_dict(path: Path) -> dict[str, Array]:
    """The tensors of a torch zip checkpoint (pytorch_model.bin), as float32 numpy arrays by name."""
    with zipfile.ZipFile(path) as archive:
        pkl = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        prefix = pkl.removesuffix("/data.pkl")
        with archive.open(pkl) as file:
            state = _TorchUnpickler(file, archive, prefix).load()
    return {name.removeprefix("bert."): np.asarray(t, dtype=np.float32) for name, t in state.items()}


# --- tokenizer: BertNormalizer + BertPreTokenizer + WordPiece, as tokenizer.json describes them ------------------


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def _is_punctuation(ch: str) -> bool:
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_tokens(text: str, lowercase: bool = False) -> list[str]:
    """Clean control characters, put every CJK character and punctuation mark apart, split on whitespace."""
    out: list[str] = []
    for ch in text.lower() if lowercase else text:
        code = ord(ch)
        if code in (0, 0xFFFD) or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
            continue
        if ch.isspace():
            out.append(" ")
        elif _is_cjk(code) or _is_punctuation(ch):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    return "".join(out).split()


class WordPiece:
    """Greedy longest-match WordPiece over the model's vocabulary, with [CLS] … [SEP] around each text."""

    def __init__(self, tokenizer_json: Path) -> None:
        spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
        self.vocab: dict[str, int] = spec["model"]["vocab"]
        self.lowercase = bool(spec.get("normalizer", {}).get("lowercase", False))
        self.unk = self.vocab[spec["model"].get("unk_token", "[UNK]")]
        self.cls, self.sep = self.vocab["[CLS]"], self.vocab["[SEP]"]

    def _word(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                return [self.unk]
            start = end
        return ids

    def encode(self, text: str) -> list[int]:
        ids = [i for w in basic_tokens(text, self.lowercase) for i in self._word(w)]
        return [self.cls, *ids[: MAX_TOKENS - 2], self.sep]


# --- the model -------------------------------------------------------------------------------------------------


def _layer_norm(x: Array, gamma: Array, beta: Array, eps: float) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: Array = (x - mean) / np.sqrt(var + eps) * gamma + beta
    return out


def _erf(x: Array) -> Array:
    # Abramowitz & Stegun 7.1.26 (error < 1.5e-7): numpy has no erf, and scipy is not a dependency.
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    out: Array = (np.sign(x) * (1.0 - poly * np.exp(-x * x))).astype(np.float32)
    return out


def _gelu(x: Array) -> Array:
    """BERT's exact GELU, x * Phi(x)."""
    out: Array = 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))
    return out


class M3eSmall:
    """Encode texts to unit vectors: BERT (config.json's sizes) over WordPiece ids, mean pooling over real tokens."""

    def __init__(self, model_dir: Path) -> None:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.heads: int = config["num_attention_heads"]
        self.layers: int = config["num_hidden_layers"]
        self.eps: float = config.get("layer_norm_eps", 1e-12)
        self.w = load_state_dict(model_dir / "pytorch_model.bin")
        self.tokenizer = WordPiece(model_dir / "tokenizer.json")
        self.dim = int(self.w["embeddings.word_embeddings.weight"].shape[1])

    def _dense(self, name: str) -> Callable[[Array], Array]:
        # Weights transposed once to contiguous (in, out) and inputs flattened to 2-D: a 3-D matmul against a
        # transposed view misses BLAS and costs ~30x more.
        key = f"{name}.weight_t"
        if key not in self.w:
            self.w[key] = np.ascontiguousarray(self.w[f"{name}.weight"].T)
        weight, bias = self.w[key], self.w[f"{name}.bias"]

        def dense(x: Array) -> Array:
            out: Array = (x.reshape(-1, x.shape[-1]) @ weight + bias).reshape(*x.shape[:-1], weight.shape[1])
            return out

        return dense

    def _norm(self, x: Array, name: str) -> Array:
        return _layer_norm(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _layer(self, x: Array, mask: Array, n: int) -> Array:
        p = f"encoder.layer.{n}"
        batch, length, dim = x.shape
        head = dim // self.heads

        def split(t: Array) -> Array:
            return t.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

        q = split(self._dense(f"{p}.attention.self.query")(x))
        k = split(self._dense(f"{p}.attention.self.key")(x))
        v = split(self._dense(f"{p}.attention.self.value")(x))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, dim)
        x = self._norm(x + self._dense(f"{p}.attention.output.dense")(context), f"{p}.attention.output.LayerNorm")
        inner = _gelu(self._dense(f"{p}.intermediate.dense")(x))
        return self._norm(x + self._dense(f"{p}.output.dense")(inner), f"{p}.output.LayerNorm")

    def _batch(self, ids: Sequence[Sequence[int]]) -> Array:
        length = max(len(row) for row in ids)
        tokens = np.zeros((len(ids), length), dtype=np.int64)
        real = np.zeros((len(ids), length), dtype=np.float32)
        for i, row in enumerate(ids):
            tokens[i, : len(row)] = row
            real[i, : len(row)] = 1.0
        w = self.w
        x = w["embeddings.word_embeddings.weight"][tokens] + w["embeddings.position_embeddings.weight"][:length]
        x = self._norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        mask = ((1.0 - real) * -1e9)[:, None, None, :].astype(np.float32)
        for n in range(self.layers):
            x = self._layer(x, mask, n)
        pooled: Array = (x * real[:, :, None]).sum(1) / real.sum(1, keepdims=True)
        return pooled

    def encode(self, texts: Sequence[str], batch: int = 32) -> Array:
        """Unit vectors, one row per text (texts of similar length are batched together to pad little)."""
        ids = [self.tokenizer.encode(t) for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            out[chunk] = self._batch([ids[i] for i in chunk])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit: Array = out / norms
        return unit
