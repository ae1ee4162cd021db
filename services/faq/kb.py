"""The knowledge base as a use case: load it for the matcher, import and export YAML, teach variants, add entries.

Every change bumps `kb_revision` in the same transaction, which is how a running bot learns that its matcher is
stale (services/faq/engine.py) without a restart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from services.faq.types import KbItem
from storage.models.faq import QuestionOrigin
from storage.repos import kb as kb_repo

ENTRY_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
QUESTION_MAX_CHARS: Final = 500
ANSWER_MAX_BYTES: Final = 1800  # leaves room in a 2,048-byte kf text for the line on how to reach a person
_KNOWN_FIELDS: Final = frozenset({"id", "questions", "answer", "tags", "enabled"})


class KbError(ValueError):
    """A KB file or change that cannot be applied; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    revision: int


async def load_items(session: AsyncSession) -> list[KbItem]:
    """Every entry with its variants, as the matcher wants them (disabled entries included, flagged)."""
    rows = await kb_repo.entries(session)
    questions = await kb_repo.questions_by_entry(session)
    return [KbItem(r.id, tuple(questions.get(r.id, [])), r.answer, tuple(r.tags or ()), bool(r.enabled)) for r in rows]


def parse_yaml(text: str, source: str = "KB") -> list[KbItem]:
    """Read and validate a KB file: a YAML list of {id, questions, answer, tags?, enabled?}.

    Every problem in the file is reported at once (one line each, with its line number, entry and field), so a
    manager fixes the file in one pass; nothing is imported while any remains.
    """
    try:
        data = yaml.safe_load(text)
        lines = _field_lines(text)
    except yaml.YAMLError as exc:
        raise KbError(f"{source}: 不是有效的 YAML / not valid YAML: {exc}") from None
    if not isinstance(data, list):
        raise KbError(f"{source}: 顶层应为条目列表 / expected a list of entries at the top level")
    problems: list[str] = []
    items: list[KbItem] = []
    seen: set[str] = set()
    for n, raw in enumerate(data, start=1):
        entry_lines = lines[n - 1] if n - 1 < len(lines) else {}
        found: list[tuple[str, str]] = []
        item = _item(raw, found)
        entry_id = str(raw.get("id")) if isinstance(raw, dict) else ""
        label = f"条目 {entry_id} / entry {entry_id}" if ENTRY_ID.match(entry_id) else f"第 {n} 条 / entry #{n}"
        for field_name, problem in found:
            line = entry_lines.get(field_name, entry_lines.get("", 0))
            problems.append(f"{source}:{line}: {label}: {field_name + ': ' if field_name else ''}{problem}")
        if item is not None:
            if item.id in seen:
                problems.append(f"{source}:{entry_lines.get('id', 0)}: 条目 {item.id}: id 重复 / duplicate id")
            seen.add(item.id)
            items.append(item)
    if problems:
        raise KbError("\n".join(problems))
    return items


def _field_lines(text: str) -> list[dict[str, int]]:
    """For each top-level entry, the 1-based line of the entry ("") and of each of its fields."""
    root = yaml.compose(text)
    if not isinstance(root, yaml.SequenceNode):
        return []
    found = []
    for node in root.value:
        lines = {"": node.start_mark.line + 1}
        if isinstance(node, yaml.MappingNode):
            lines.update({str(key.value): key.start_mark.line + 1 for key, _ in node.value})
        found.append(lines)
    return found


def _item(raw: Any, problems: list[tuple[str, str]]) -> KbItem | None:
    """The entry, or None with every problem in it appended as (field, what is wrong)."""
    if not isinstance(raw, dict):
        problems.append(("", "应为映射 / expected a mapping with id, questions, answer"))
        return None
    entry_id = raw.get("id")
    if isinstance(entry_id, int) and not isinstance(entry_id, bool):
        entry_id = str(entry_id)
    if not isinstance(entry_id, str) or not ENTRY_ID.match(entry_id):
        problems.append(("id", f"应为 1-64 个字母、数字、_.- / expected 1-64 of [A-Za-z0-9_.-], got {entry_id!r}"))
    unknown = sorted(set(raw) - _KNOWN_FIELDS)
    if unknown:
        problems.append(("", f"未知字段 / unknown field(s): {', '.join(map(str, unknown))}"))
    texts = _questions(raw.get("questions"), problems)
    answer = raw.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        problems.append(("answer", "应为非空文本 / expected non-empty text"))
    else:
        try:
            check_answer(answer, "")
        except KbError as exc:
            problems.append(("answer", _bare(exc)))
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        problems.append(("tags", "应为文本列表 / expected a list of strings"))
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(("enabled", f"应为 true 或 false / expected true or false, got {enabled!r}"))
    if problems:
        return None
    assert isinstance(entry_id, str) and isinstance(answer, str)
    return KbItem(entry_id, texts, answer.strip(), tuple(t.strip() for t in tags), enabled)


def _questions(questions: Any, problems: list[tuple[str, str]]) -> tuple[str, ...]:
    if not isinstance(questions, list) or not questions:
        problems.append(("questions", "应为非空的问题列表 / expected a non-empty list of questions"))
        return ()
    texts: list[str] = []
    for n, q in enumerate(questions, start=1):
        try:
            texts.append(check_question(q, ""))
        except KbError as exc:
            problems.append(("questions", f"{_bare(exc)}（第 {n} 个问题 / question #{n}）"))
    return tuple(dict.fromkeys(texts))


def _bare(exc: KbError) -> str:
    """A field check's message without its (empty) location prefix: the caller adds the location."""
    return str(exc).removeprefix(": ")


def check_question(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KbError(f"{where}: 问题应为非空文本 / a question must be non-empty text, got {value!r}")
    text = " ".join(value.split())
    if len(text) > QUESTION_MAX_CHARS:
        raise KbError(f"{where}: 问题过长（上限 {QUESTION_MAX_CHARS} 字）/ question longer than {QUESTION_MAX_CHARS}")
    return text


def check_answer(answer: str, where: str) -> None:
    if len(answer.strip().encode()) > ANSWER_MAX_BYTES:
        raise KbError(f"{where}: 答案过长（上限 {ANSWER_MAX_BYTES} 字节）/ answer longer than {ANSWER_MAX_BYTES} bytes")


def to_yaml(items: Sequence[KbItem]) -> str:
    """The KB as a file `import` reads back to the same state."""
    data = []
    for item in items:
        entry: dict[str, Any] = {"id": item.id, "questions": list(item.questions), "answer": item.answer}
        if item.tags:
            entry["tags"] = list(item.tags)
        if not item.enabled:
            entry["enabled"] = False
        data.append(entry)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


async def import_items(session: AsyncSession, items: Sequence[KbItem], now: datetime) -> ImportReport:
    """Make each entry in `items` match the file: add new ids, update by id, variants added and removed to match.

    Entries in the database that the file does not mention are left alone (a file may cover one topic).
    """
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    have = await kb_repo.questions_by_entry(session, [i.id for i in items])
    for item in items:
        row = await kb_repo.entry(session, item.id)
        if row is None:
            await kb_repo.add_entry(session, item.id, item.answer, item.tags, item.enabled, now)
            await kb_repo.add_questions(session, item.id, item.questions, QuestionOrigin.IMPORT, now)
            added.append(item.id)
            continue
        old = have.get(item.id, [])
        gone = [q for q in old if q not in item.questions]
        fields_same = (row.answer, list(row.tags or []), row.enabled) == (item.answer, list(item.tags), item.enabled)
        if fields_same and not gone and set(item.questions) <= set(old):
            unchanged.append(item.id)
            continue
        row.answer, row.tags, row.enabled, row.updated_at = item.answer, list(item.tags), item.enabled, now
        await kb_repo.remove_questions(session, item.id, gone)
        await kb_repo.add_questions(session, item.id, item.questions, QuestionOrigin.IMPORT, now)
        updated.append(item.id)
    revision = await kb_repo.revision(session)
    if added or updated:
        revision = await kb_repo.bump_revision(session, now)
    return ImportReport(tuple(added), tuple(updated), tuple(unchanged), revision)


async def add_variant(session: AsyncSession, entry_id: str, question: str, now: datetime) -> bool:
    """Teach an entry one more way to ask; False when it already knew it."""
    row = await kb_repo.entry(session, entry_id)
    if row is None:
        raise KbError(f"没有 id 为 {entry_id} 的条目 / no KB entry {entry_id!r}")
    text = check_question(question, f"条目 {entry_id} / entry {entry_id}")
    if not await kb_repo.add_questions(session, entry_id, [text], QuestionOrigin.VARIANT, now):
        return False
    row.updated_at = now
    await kb_repo.bump_revision(session, now)
    return True


async def create_entry(
    session: AsyncSession,
    entry_id: str,
    questions: Sequence[str],
    answer: str,
    now: datetime,
    *,
    tags: Sequence[str] = (),
    origin: str = QuestionOrigin.PROMOTED,
) -> KbItem:
    """A new entry (from `faq promote`); refuses an id that exists."""
    if not ENTRY_ID.match(entry_id):
        raise KbError(f"id: 应为 1-64 个字母、数字、_.- / expected 1-64 of [A-Za-z0-9_.-], got {entry_id!r}")
    if await kb_repo.entry(session, entry_id) is not None:
        raise KbError(f"条目 {entry_id} 已存在 / KB entry {entry_id!r} already exists")
    if not answer.strip():
        raise KbError(f"条目 {entry_id}: answer: 应为非空文本 / expected non-empty text")
    check_answer(answer, f"条目 {entry_id}: answer")
    texts = list(dict.fromkeys(check_question(q, f"条目 {entry_id}: questions") for q in questions))
    if not texts:
        raise KbError(f"条目 {entry_id}: questions: 至少需要一个问题 / at least one question")
    await kb_repo.add_entry(session, entry_id, answer.strip(), tags, True, now)
    await kb_repo.add_questions(session, entry_id, texts, origin, now)
    await kb_repo.bump_revision(session, now)
    return KbItem(entry_id, tuple(texts), answer.strip(), tuple(tags))


def read_file(path: Path) -> list[KbItem]:
    """Parse the KB file at `path` (blocking file I/O: the CLI and executors only)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KbError(f"{path}: 无法读取 / cannot read: {exc.strerror}") from None
    return parse_yaml(text, str(path))
