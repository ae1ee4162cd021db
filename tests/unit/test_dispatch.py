"""Router tree and Dispatcher: first match wins, nested routers, filters, middleware order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.dispatch import Context, Dispatcher, Next, Router
from bot.events import Event, GroupCreated, MemberText

AT = datetime(2026, 11, 23, tzinfo=UTC)
CTX: Any = object()  # these handlers never touch the context


async def test_first_matching_handler_wins_when_several_match() -> None:
    calls: list[str] = []
    root, child = Dispatcher(), Router("child")
    root.include_router(child)

    @child.on(MemberText, lambda e: e.text.startswith("认领"))
    async def claim(event: MemberText, ctx: Context) -> None:
        calls.append("claim")

    @child.on(MemberText)
    async def any_text(event: MemberText, ctx: Context) -> None:
        calls.append("any")

    assert await root.feed(MemberText(AT, "k1", "zhangsan", "认领 T1"), CTX)
    assert await root.feed(MemberText(AT, "k2", "zhangsan", "你好"), CTX)
    assert calls == ["claim", "any"]


async def test_feed_reports_unhandled_when_no_router_matches() -> None:
    root = Dispatcher()
    root.include_router(Router("empty"))
    assert not await root.feed(GroupCreated(AT, "k", "wr1"), CTX)


async def test_outer_middlewares_wrap_in_registration_order_when_event_is_fed() -> None:
    order: list[str] = []
    root = Dispatcher()

    class Mark:
        def __init__(self, name: str) -> None:
            self.name = name

        async def __call__(self, handler: Next, event: Event, ctx: Context) -> bool:
            order.append(f"{self.name}>")
            result = await handler(event, ctx)
            order.append(f"<{self.name}")
            return result

    root.add_outer_middleware(Mark("outer"))
    root.add_outer_middleware(Mark("inner"))

    @root.on(GroupCreated)
    async def created(event: GroupCreated, ctx: Context) -> None:
        order.append("handler")

    await root.feed(GroupCreated(AT, "k", "wr1"), CTX)
    assert order == ["outer>", "inner>", "handler", "<inner", "<outer"]


def test_include_router_refuses_when_it_would_create_a_cycle() -> None:
    a, b = Router("a"), Router("b")
    a.include_router(b)
    with pytest.raises(ValueError, match="cycle"):
        b.include_router(a)


async def test_every_watcher_runs_before_the_first_match_when_several_watch() -> None:
    calls: list[str] = []
    root, surveys, faq = Dispatcher(), Router("surveys"), Router("faq")
    root.include_router(surveys)
    root.include_router(faq)

    @surveys.watch(MemberText)
    async def survey(event: MemberText, ctx: Context) -> None:
        calls.append("survey")

    @faq.watch(MemberText, lambda e: "?" in e.text)
    async def question(event: MemberText, ctx: Context) -> None:
        calls.append("faq")

    @root.on(MemberText)
    async def command(event: MemberText, ctx: Context) -> None:
        calls.append("command")

    assert await root.feed(MemberText(AT, "k1", "zhangsan", "在吗?"), CTX)
    assert await root.feed(MemberText(AT, "k2", "zhangsan", "好的"), CTX)
    assert calls == ["survey", "faq", "command", "survey", "command"]


async def test_feed_reports_handled_when_only_a_watcher_ran() -> None:
    root = Dispatcher()

    @root.watch(GroupCreated)
    async def seen(event: GroupCreated, ctx: Context) -> None:
        return None

    assert await root.feed(GroupCreated(AT, "k", "wr1"), CTX)
