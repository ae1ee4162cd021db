"""Read a KB YAML file (a list of `{id, questions: [...], answer, tags}`) into matcher items, checking its shape."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.faq.types import KbItem


class KbFileError(ValueError):
    """A KB file that cannot be used, phrased for the operator: which entry, what was expected."""


def parse_kb(text: str, where: str = "KB") -> list[KbItem]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KbFileError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, list):
        raise KbFileError(f"{where}: expected a list of entries")
    items: list[KbItem] = []
    seen: set[str] = set()
    for n, raw in enumerate(data, start=1):
        if not isinstance(raw, dict):
            raise KbFileError(f"{where}: entry {n}: expected a mapping with id, questions and answer")
        entry_id, questions, answer = raw.get("id"), raw.get("questions"), raw.get("answer")
        if not isinstance(entry_id, str | int) or not str(entry_id).strip():
            raise KbFileError(f"{where}: entry {n}: missing id")
        entry_id = str(entry_id).strip()
        if entry_id in seen:
            raise KbFileError(f"{where}: entry {entry_id}: duplicate id")
        seen.add(entry_id)
        if not isinstance(questions, list) or not questions or not all(isinstance(q, str) for q in questions):
            raise KbFileError(f"{where}: entry {entry_id}: questions must be a non-empty list of strings")
        if not isinstance(answer, str) or not answer.strip():
            raise KbFileError(f"{where}: entry {entry_id}: missing answer")
        tags = raw.get("tags") or []
        if not isinstance(tags, list):
            raise KbFileError(f"{where}: entry {entry_id}: tags must be a list")
        items.append(
            KbItem(
                id=entry_id,
                questions=tuple(q.strip() for q in questions if q.strip()),
                answer=answer.strip(),
                tags=tuple(str(t) for t in tags),
                enabled=bool(raw.get("enabled", True)),
            )
        )
    return items


def read_kb(path: Path) -> list[KbItem]:
    """Parse the KB file at `path` (blocking file I/O: CLI and executors only)."""
    return parse_kb(path.read_text(encoding="utf-8"), str(path))
