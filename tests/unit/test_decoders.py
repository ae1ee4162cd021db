"""The ingest decoder registry: rows are decoded by what their channel registered, and by nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.channel_ports import UndecodableEvent
from bot.events import Event, FaqQuestionQueued, GroupResync, Unrecognized
from bot.ingest.decoders import Decoders, PermanentFailure
from storage.models.inbox import InboundEvent

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _row(source: str, kind: str, payload: str = "{}") -> InboundEvent:
    return InboundEvent(dedupe_key=f"{source}:{kind}:1", source=source, kind=kind, payload=payload, received_at=T0)


def _unparseable(payload: str, dedupe_key: str, received_at: datetime) -> Event:
    raise UndecodableEvent("not XML")


def test_a_row_is_unrecognized_when_no_channel_registered_its_source() -> None:
    event = Decoders().decode(_row("wecom", "change_contact"))
    assert isinstance(event, Unrecognized)
    assert event.kind == "wecom:change_contact"


def test_a_row_is_decoded_by_its_channel_when_the_channel_registered_its_source() -> None:
    decoders = Decoders()
    decoders.register("wecom", lambda payload, key, at: Unrecognized(at, key, f"decoded {payload}"))
    event = decoders.decode(_row("wecom", "kf_msg_or_event", "<xml/>"))
    assert isinstance(event, Unrecognized) and event.kind == "decoded <xml/>"


def test_the_bots_own_jobs_are_decoded_when_no_channel_registered_anything() -> None:
    decoders = Decoders()
    resync = decoders.decode(_row("qunke", "group_resync", '{"chat_id": "wrABC"}'))
    question = decoders.decode(_row("qunke", "faq_question", '{"message_key": "kf:m1"}'))
    assert isinstance(resync, GroupResync) and resync.chat_id == "wrABC"
    assert isinstance(question, FaqQuestionQueued) and question.message_key == "kf:m1"
    assert isinstance(decoders.decode(_row("qunke", "something_else")), Unrecognized)


def test_a_row_fails_for_good_when_its_decoder_says_it_can_never_be_decoded() -> None:
    decoders = Decoders()
    decoders.register("oa", _unparseable)
    with pytest.raises(PermanentFailure, match="not XML"):
        decoders.decode(_row("oa", "text"))


def test_a_second_decoder_is_refused_when_the_source_has_one_already() -> None:
    decoders = Decoders()
    decoders.register("wecom", _unparseable)
    with pytest.raises(ValueError, match="registered already"):
        decoders.register("wecom", _unparseable)
