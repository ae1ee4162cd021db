"""The FAQ embedder's API key reaches Settings from the environment only, never from config.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.base import ConfigError
from bot.config.settings import load_settings

EMBEDDER = "faq:\n  embedder:\n    url: http://127.0.0.1:9/v1/embeddings\n"


def test_embeddings_key_is_read_into_settings_when_the_environment_sets_it(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(EMBEDDER, encoding="utf-8")
    settings = load_settings(path, {"QUNKE_EMBEDDINGS_API_KEY": "sk-local"})
    assert settings.faq.embedder.api_key == "sk-local"


def test_embeddings_key_is_none_when_the_environment_does_not_set_it(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(EMBEDDER, encoding="utf-8")
    assert load_settings(path, {}).faq.embedder.api_key is None


def test_embeddings_key_is_refused_when_written_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(EMBEDDER + "    api_key: sk-in-file\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="QUNKE_EMBEDDINGS_API_KEY"):
        load_settings(path, {})
