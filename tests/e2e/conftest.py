"""Fixtures for the black-box suite: the demo archive key pair, made once with the CLI as an admin would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Stack, make_archive_keys


@pytest.fixture(scope="session")
def archive_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_archive_keys(tmp_path_factory.mktemp("e2e-keys") / "archive")


@pytest.fixture(scope="session")
def unstaffed_stack(tmp_path_factory: pytest.TempPathFactory, archive_keys: tuple[Path, Path]) -> Iterator[Stack]:
    """A corp with a manager but no one on duty; shared by the dead-end hand-off and the restart tests (the sandbox
    restart runs last: it is the one test that may leave the stack unusable when it fails)."""
    stack = Stack(tmp_path_factory.mktemp("unstaffed"), archive_keys, service={"on_duty": [], "managers": ["zhaoliu"]})
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
