"""`qunke --help` lists every command without importing the app; each command still loads when it is run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import COMMANDS, app

REPO = Path(__file__).resolve().parents[2]
# What made every `qunke` command take seconds before it printed anything.
HEAVY = ("sqlalchemy", "bot.app", "bot.config.settings", "services", "storage", "aiohttp", "sandbox.app")

PROBE = """
import sys
from typer.testing import CliRunner
from bot.cli import app
result = CliRunner().invoke(app, ["--help"])
assert result.exit_code == 0, result.output
print(",".join(sorted({m.split(".")[0] if m.split(".")[0] in ("services", "storage") else m for m in sys.modules})))
"""


def test_help_lists_every_command_without_importing_the_app_when_run_alone() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(done.stdout.strip().split(","))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    listed = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert all(f" {name} " in listed for name in COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_loads_its_module_when_asked_for_its_help(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "用法：" in result.output and name in result.output
