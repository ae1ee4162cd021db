"""Fixtures for the black-box suite: the demo archive key pair (made once with the CLI, as an admin would) and a pool
that starts every stack the selected modules need at once, in the background, so their start-ups and slow timers
(SLA, auto-close, survey expiry, churn) run side by side instead of one module after another."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import Keys, Stack, StackPlan, make_archive_keys
from tests.e2e.pool import StackPool, use_stack
from tests.e2e.scenarios import UNSTAFFED


@pytest.fixture(scope="session")
def archive_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_archive_keys(tmp_path_factory.mktemp("e2e-keys") / "archive")


@pytest.fixture(scope="session", autouse=True)
def stack_pool(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackPool]:
    """Every StackPlan named in E2E_STACKS by a module with a selected test, started at once."""
    modules = {getattr(item, "module", None) for item in request.session.items} - {None}
    plans: dict[str, StackPlan[Any]] = {}
    users: dict[str, int] = {}
    for module in modules:
        for plan in getattr(module, "E2E_STACKS", ()):
            plans[plan.key] = plan
            users[plan.key] = users.get(plan.key, 0) + 1
    keys: Keys = request.getfixturevalue("archive_keys")
    pool = StackPool(tmp_path_factory, keys, list(plans.values()), users)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="module")
def unstaffed_stack(stack_pool: StackPool) -> Iterator[Stack]:
    yield from use_stack(stack_pool, UNSTAFFED)
