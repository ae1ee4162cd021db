"""bench/m3e_model.py without the 89 MB model: its BERT tokenizer on a tiny vocabulary, its torch-free loader on a
checkpoint written here in torch's zip layout (data.pkl + data/N), and a forward pass over random tiny weights."""

from __future__ import annotations

import importlib.util
import io
import json
import pickle
import sys
import types
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_module() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("m3e_model", ROOT / "bench" / "m3e_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


m3e = _load_module()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "退", "款", "？", "wi", "##fi", "hello", "!"]


def _tokenizer_json(path: Path) -> Path:
    spec = {
        "normalizer": {"type": "BertNormalizer", "lowercase": False},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {t: i for i, t in enumerate(VOCAB)}},
    }
    target = path / "tokenizer.json"
    target.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return target


def test_tokenizer_splits_cjk_and_punctuation_when_basic_tokenizing() -> None:
    expected = ["退", "款", "要", "多", "久", "？", "wifi", "密", "码", "hello", "!"]
    assert m3e.basic_tokens("退款要多久？wifi密码\x00 hello!") == expected


def test_wordpiece_uses_continuations_and_unk_when_encoding(tmp_path: Path) -> None:
    tokenizer = m3e.WordPiece(_tokenizer_json(tmp_path))
    ids = tokenizer.encode("退款？wifi WiFi hello!")
    # [CLS] 退 款 ？ wi ##fi [UNK](case kept: the vocabulary has no "Wi") hello ! [SEP]
    assert ids == [2, 4, 5, 6, 7, 8, 1, 9, 10, 3]


class _FakeStorage:
    """Pickled as torch's storage: a persistent id naming the archive member that holds its bytes."""

    def __init__(self, key: str, array: np.ndarray[Any, Any]) -> None:
        self.key = key
        self.array = array


class _FakeTensor:
    def __init__(self, storage: _FakeStorage) -> None:
        self.storage = storage

    def __reduce__(self) -> tuple[Any, ...]:
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        a = self.storage.array
        return (rebuild, (self.storage, 0, a.shape, tuple(s // a.itemsize for s in a.strides), False, OrderedDict()))


class _CheckpointPickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _FakeStorage):
            return ("storage", sys.modules["torch"].FloatStorage, obj.key, "cpu", obj.array.size)
        return None


def _write_checkpoint(path: Path, tensors: dict[str, np.ndarray[Any, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """A pytorch_model.bin in torch's zip layout, pickled against stand-in `torch` modules (torch is not needed)."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: Any) -> None:
        raise AssertionError("only pickled, never called")

    class FloatStorage:
        pass

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    torch.FloatStorage = FloatStorage  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    storages = {name: _FakeStorage(str(i), t.astype(np.float32)) for i, (name, t) in enumerate(tensors.items())}
    buffer = io.BytesIO()
    _CheckpointPickler(buffer, protocol=2).dump(OrderedDict((n, _FakeTensor(s)) for n, s in storages.items()))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pytorch_model/data.pkl", buffer.getvalue())
        for s in storages.values():
            archive.writestr(f"pytorch_model/data/{s.key}", s.array.tobytes())


def _tiny_bert(hidden: int, layers: int, vocab: int) -> dict[str, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(7)
    shapes = {
        "embeddings.word_embeddings.weight": (vocab, hidden),
        "embeddings.position_embeddings.weight": (16, hidden),
        "embeddings.token_type_embeddings.weight": (2, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
    }
    for n in range(layers):
        p = f"encoder.layer.{n}"
        for name, (out, inp) in {
            "attention.self.query": (hidden, hidden),
            "attention.self.key": (hidden, hidden),
            "attention.self.value": (hidden, hidden),
            "attention.output.dense": (hidden, hidden),
            "intermediate.dense": (4 * hidden, hidden),
            "output.dense": (hidden, 4 * hidden),
        }.items():
            shapes[f"{p}.{name}.weight"] = (out, inp)
            shapes[f"{p}.{name}.bias"] = (out,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[f"{p}.{norm}.weight"] = (hidden,)
            shapes[f"{p}.{norm}.bias"] = (hidden,)
    return {name: rng.normal(0, 0.2, shape) for name, shape in shapes.items()}


def test_loader_reads_torch_zip_checkpoint_when_torch_is_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "bert.b": np.ones(4, dtype=np.float32)}
    _write_checkpoint(tmp_path / "pytorch_model.bin", weights, monkeypatch)
    loaded = m3e.load_state_dict(tmp_path / "pytorch_model.bin")
    assert set(loaded) == {"a", "b"}  # the "bert." prefix of a BertModel wrapped in a head is dropped
    np.testing.assert_array_equal(loaded["a"], weights["a"])


def test_loader_refuses_other_classes_when_unpickling(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "evil.bin", "w") as archive:
        archive.writestr("m/data.pkl", pickle.dumps(OrderedDict(x=io.BytesIO)))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load _io\.BytesIO"):
        m3e.load_state_dict(tmp_path / "evil.bin")


def test_model_gives_unit_vectors_independent_of_padding_when_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_checkpoint(tmp_path / "pytorch_model.bin", _tiny_bert(8, 2, len(VOCAB)), monkeypatch)
    _tokenizer_json(tmp_path)
    config = {"num_attention_heads": 2, "num_hidden_layers": 2, "layer_norm_eps": 1e-12}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    model = m3e.M3eSmall(tmp_path)
    alone = model.encode(["退款"])
    batched = model.encode(["退款", "hello 退款？wifi!"])  # padded to the longer text: the mask must hide the pad
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(batched[0], alone[0], atol=1e-5)


def _load_server() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("embed_server", ROOT / "bench" / "embed_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_server_speaks_the_openai_wire_format_when_asked_for_embeddings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aiohttp_client: Any
) -> None:
    _write_checkpoint(tmp_path / "pytorch_model.bin", _tiny_bert(8, 1, len(VOCAB)), monkeypatch)
    _tokenizer_json(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"num_attention_heads": 2, "num_hidden_layers": 1}), "utf-8")
    server = _load_server()
    client = await aiohttp_client(server.make_app(server.M3eSmall(server.ensure_model(tmp_path))))
    ok = await client.post("/v1/embeddings", json={"model": "m3e-small", "input": ["退款", "hello"]})
    body = await ok.json()
    assert ok.status == 200 and [d["index"] for d in body["data"]] == [0, 1]
    assert len(body["data"][0]["embedding"]) == 8
    for bad, message in ((b"not json", "the body is not JSON"), (b'{"input": [1]}', "non-empty list of strings")):
        refused = await client.post("/v1/embeddings", data=bad)
        assert refused.status == 400 and message in (await refused.json())["error"]["message"]
