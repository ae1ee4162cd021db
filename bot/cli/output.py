"""Printing for the CLI: JSON for scripts, readable Chinese-friendly tables for people."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="输出 JSON (machine-readable output)")]


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, default=_default, ensure_ascii=False, indent=2))


def local(moment: datetime | None, zone: str) -> str:
    """A UTC moment shown in the configured business zone, to the second."""
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
