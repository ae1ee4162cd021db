"""The black-box suite must see the product only from outside: no module here may import the bot's packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
FORBIDDEN = (
    *("bot", "services", "handlers", "storage", "sandbox", "campaigns", "console"),
    *("tests.support", "tests.conftest"),
)
# The throwaway PostgreSQL cluster helper imports nothing from the bot (checked below like the rest).
ALLOWED = ("tests.support.postgres",)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _forbidden(name: str) -> bool:
    if any(name == ok or name.startswith(ok + ".") for ok in ALLOWED):
        return False
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def test_no_e2e_module_imports_a_bot_package_when_collected() -> None:
    files = [*HERE.glob("*.py"), HERE.parent / "support" / "postgres.py"]
    offenders = {f"{path.name}: {name}" for path in files for name in _imports(path) if _forbidden(name)}
    assert not offenders, f"black-box modules must not import the product: {sorted(offenders)}"
