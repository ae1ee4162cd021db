"""Fixtures for the black-box suite: the demo archive key pair, made once with the CLI as an admin would."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import make_archive_keys


@pytest.fixture(scope="session")
def archive_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_archive_keys(tmp_path_factory.mktemp("e2e-keys") / "archive")
