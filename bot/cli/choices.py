"""Enum-like CLI options: the stored English value or the Chinese label the tables show; anything else exits 2."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import typer

# Inbox statuses as `events list` shows them.
INBOX_TEXT: dict[str, str] = {"new": "待处理", "done": "已处理", "failed": "失败"}


def pick(value: str | None, labels: Mapping[str, str], option: str) -> str | None:
    """The stored value for `value` ("处理中" or "open" → "open"); an unknown one ends the command in one line."""
    if value is None:
        return None
    wanted = value.strip()
    for stored, label in labels.items():
        if wanted.lower() == stored.lower() or wanted == label:
            return stored
    valid = "、".join(stored if label == stored else f"{stored}（{label}）" for stored, label in labels.items())
    typer.secho(f"{option} 不认识「{value}」，可选：{valid} (unknown value)", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def pick_all(values: Iterable[str] | None, labels: Mapping[str, str], option: str) -> tuple[str, ...]:
    return tuple(p for v in values or () if (p := pick(v, labels, option)) is not None)


def plain(values: Iterable[str]) -> dict[str, str]:
    """Values without a Chinese label (e.g. outbox kinds), for `pick`."""
    return {v: v for v in values}


def truncation_note(shown: int, total: int, offset: int = 0) -> None:
    """Say how many rows exist when --limit cut the list, so a short table never passes for the whole story."""
    if offset and shown:
        typer.echo(f"显示第 {offset + 1}–{offset + shown} 条 / 共 {total} 条")
    elif total > shown:
        typer.echo(f"显示 {shown} / 共 {total} 条（用 --limit 查看更多）")
