"""The knowledge base on SQLite and PostgreSQL: YAML validation, re-import by id, export round trip, revisions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.faq import kb
from services.faq.kb import KbError
from storage.db import make_sessionmaker
from storage.models.faq import KbQuestion
from storage.repos import kb as kb_repo

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

KB_V1 = """
- id: return_policy
  questions: [退货流程是什么, 怎么退货]
  answer: 签收后 7 天内可在订单页申请退货。
  tags: [售后]
- id: invoice
  questions: [发票怎么开]
  answer: 在订单详情页点“申请发票”。
"""
KB_V2 = """
- id: return_policy
  questions: [怎么退货, 可以退吗]
  answer: 签收后 7 天内可在订单页申请退货，运费险自动理赔。
  tags: [售后]
- id: invoice
  questions: [发票怎么开]
  answer: 在订单详情页点“申请发票”。
  enabled: false
"""


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    yield make_sessionmaker(engine)


async def _import(sessions: async_sessionmaker[AsyncSession], text: str) -> kb.ImportReport:
    async with sessions() as session, session.begin():
        return await kb.import_items(session, kb.parse_yaml(text), T0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1", "expected a list of entries"),
        ("- [1, 2]", "entry #1: 应为映射"),
        ("- {id: 'bad id', questions: [问], answer: 答}", "id: 应为 1-64"),
        ("- {id: x, questions: [], answer: 答}", "entry x: questions"),
        ("- {id: x, questions: ['  '], answer: 答}", "entry x: questions: 问题应为非空文本"),
        ("- {id: x, questions: [问], answer: ''}", "entry x: answer"),
        ("- {id: x, questions: [问], answer: 答, tags: 售后}", "entry x: tags"),
        ("- {id: x, questions: [问], answer: 答, enabled: maybe}", "entry x: enabled"),
        ("- {id: x, questions: [问], answer: 答, anwser: 错}", "entry x: 未知字段 / unknown field(s): anwser"),
        ("- {id: x, questions: [问], answer: 答}\n- {id: x, questions: [问2], answer: 答2}", "条目 x: id 重复"),
        ("- {id: x, questions: [问], answer: 答\n", "不是有效的 YAML"),
    ],
)
def test_a_kb_file_is_refused_naming_the_entry_and_field_when_it_is_malformed(text: str, message: str) -> None:
    with pytest.raises(KbError) as caught:
        kb.parse_yaml(text, "kb.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("kb.yaml")


def test_an_over_long_answer_is_refused_when_it_would_not_fit_a_kf_message() -> None:
    with pytest.raises(KbError, match="entry x: answer"):
        kb.parse_yaml("- {id: x, questions: [问], answer: " + "长" * 700 + "}")


async def test_reimport_updates_by_id_and_matches_the_variants_to_the_file_when_the_file_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await _import(sessions, KB_V1)
    assert (first.added, first.updated, first.revision) == (("return_policy", "invoice"), (), 1)
    again = await _import(sessions, KB_V1)
    assert (again.added, again.updated, again.unchanged, again.revision) == ((), (), ("return_policy", "invoice"), 1)

    second = await _import(sessions, KB_V2)
    assert (second.added, second.updated, second.revision) == ((), ("return_policy", "invoice"), 2)
    async with sessions() as session:
        items = {i.id: i for i in await kb.load_items(session)}
        rows = await session.scalar(select(func.count()).select_from(KbQuestion))
    assert items["return_policy"].questions == ("怎么退货", "可以退吗")
    assert items["return_policy"].answer.endswith("运费险自动理赔。")
    assert items["invoice"].enabled is False
    assert rows == 3  # nothing duplicated, the removed variant is gone


async def test_export_reads_back_to_the_same_kb_when_imported_again(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _import(sessions, KB_V2)
    async with sessions() as session:
        exported = kb.to_yaml(await kb.load_items(session))
    assert kb.parse_yaml(exported) == sorted(kb.parse_yaml(KB_V2), key=lambda i: i.id)
    assert (await _import(sessions, exported)).updated == ()


async def test_add_variant_and_create_entry_bump_the_revision_when_they_change_the_kb(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _import(sessions, KB_V1)
    async with sessions() as session, session.begin():
        assert await kb.add_variant(session, "invoice", "能开专票吗", T0) is True
        assert await kb.add_variant(session, "invoice", "能开专票吗", T0) is False
        await kb.create_entry(session, "pets", ["能带宠物吗"], "门店欢迎牵绳的宠物。", T0)
    async with sessions() as session:
        assert await kb_repo.revision(session) == 3
        questions = await kb_repo.questions_by_entry(session)
    assert questions["invoice"] == ["发票怎么开", "能开专票吗"]
    assert questions["pets"] == ["能带宠物吗"]


async def test_kb_changes_are_refused_with_the_reason_when_the_entry_is_unknown_or_taken(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _import(sessions, KB_V1)
    async with sessions() as session:
        with pytest.raises(KbError, match="no KB entry 'nope'"):
            await kb.add_variant(session, "nope", "问", T0)
        with pytest.raises(KbError, match="already exists"):
            await kb.create_entry(session, "invoice", ["问"], "答", T0)
        with pytest.raises(KbError, match="answer"):
            await kb.create_entry(session, "fresh", ["问"], "  ", T0)


def test_every_problem_in_a_kb_file_is_reported_with_its_line_when_several_entries_are_wrong() -> None:
    text = """\
- id: fine
  questions: [怎么退货]
  answer: 七天内可退
- id: bad id
  questions: []
  answer: ""
- id: two
  questions: ["", 发票]
  answer: 可以开
  enabled: maybe
"""
    with pytest.raises(KbError) as caught:
        kb.parse_yaml(text, "kb.yaml")
    lines = str(caught.value).splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        "kb.yaml:4",
        "kb.yaml:5",
        "kb.yaml:6",
        "kb.yaml:8",
        "kb.yaml:10",
    ]
    assert "questions: 问题应为非空文本" in lines[3] and "第 1 个问题" in lines[3]
    assert "条目 two / entry two: enabled" in lines[4]


async def test_teaching_a_variant_closes_the_unanswered_group_it_matches_when_one_is_open(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from services.faq import unanswered
    from storage.repos import faq as faq_repo

    await _import(sessions, KB_V1)
    async with sessions() as session, session.begin():
        asked = await faq_repo.add_group(session, "能开专票吗？", unanswered.normalize("能开专票吗？"), None, 0.2, T0)
        other = await faq_repo.add_group(session, "你们卖猫粮吗", unanswered.normalize("你们卖猫粮吗"), None, 0.1, T0)
    async with sessions() as session, session.begin():
        added, closed = await unanswered.teach(session, "invoice", "能开专票吗", T0)
    assert added and closed == [asked.id]
    async with sessions() as session:
        groups = {g.id: g for g in await unanswered.list_groups(session, include_closed=True)}
    assert (groups[asked.id].status, groups[asked.id].entry_id) == ("taught", "invoice")
    assert groups[other.id].status == "open"
