"""Fixtures the browser tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.test_browser import TIMEOUT_MS


@pytest.fixture
def contexts() -> Iterator[list[BrowserContext]]:
    """The browser contexts a test opens, closed after it; expectations wait up to TIMEOUT_MS."""
    opened: list[BrowserContext] = []
    expect.set_options(timeout=TIMEOUT_MS)
    yield opened
    for context in opened:
        context.close()
