"""The pool of stacks a test session needs, started side by side in background threads (see conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from tests.e2e.harness import Keys, StackPlan, Stoppable

T = TypeVar("T", bound=Stoppable)


class StackPool:
    """Futures of started stacks by plan key, and how many selected modules still use each."""

    def __init__(
        self, tmp: pytest.TempPathFactory, keys: Keys, plans: list[StackPlan[Any]], users: dict[str, int]
    ) -> None:
        self._tmp, self._keys, self._users = tmp, keys, users
        self._executor = ThreadPoolExecutor(max_workers=max(1, len(plans)), thread_name_prefix="e2e-stack")
        self._futures: dict[str, Future[Any]] = {}
        for plan in plans:
            self._submit(plan)

    def _submit(self, plan: StackPlan[Any]) -> Future[Any]:
        if plan.key not in self._futures:
            root = self._tmp.mktemp(plan.key)
            self._futures[plan.key] = self._executor.submit(plan.build, root, self._keys)
        return self._futures[plan.key]

    def get(self, plan: StackPlan[T]) -> T:
        result: T = self._submit(plan).result()
        return result

    def release(self, plan: StackPlan[Any]) -> None:
        """A module is done with the stack; the last one stops it (the rest of `make test` runs without it)."""
        self._users[plan.key] = self._users.get(plan.key, 1) - 1
        future = self._futures.get(plan.key)
        if self._users[plan.key] <= 0 and future is not None and future.done() and future.exception() is None:
            future.result().stop()

    def close(self) -> None:
        for future in self._futures.values():
            if future.done() and future.exception() is None:
                future.result().stop()  # stopping twice is harmless
            elif not future.done():
                future.add_done_callback(lambda f: f.exception() is None and f.result().stop())
        self._executor.shutdown(wait=True)


def use_stack(pool: StackPool, plan: StackPlan[T]) -> Iterator[T]:
    """The body of a module-scoped fixture: the plan's stack for the module's tests, released after the last."""
    try:
        yield pool.get(plan)
    finally:
        pool.release(plan)
