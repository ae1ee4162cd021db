"""Headless Debian chromium driven by Playwright (never `playwright install`), against a live sandbox and bot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from tests.support.live_demo import LiveDemo, start_live_demo

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing_browser() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        return f"Debian chromium is not installed at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
    return ""


@pytest.fixture(scope="session")
def chromium_path() -> str:
    reason = _missing_browser()
    if reason:
        if os.environ.get("QUNKE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"QUNKE_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    return shutil.which("chromium") or CHROMIUM


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[LiveDemo]:
    """One sandbox and one bot for the module: each test uses its own customer and member."""
    demo = start_live_demo(tmp_path_factory.mktemp("live-demo"))
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def page(chromium_path: str, tmp_path: Path) -> Iterator[Any]:
    """A fresh browser with a new, empty user-data dir, closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=chromium_path,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context.new_page()
        finally:
            context.close()
