"""A screen whose device token was replaced (the technician re-added the device) recovers in Chromium when it is
given the new address: in the same tab (only the #token changes) or by a normal navigation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.test_browser import CHROMIUM, KIOSK, TIMEOUT_MS, launch
from tests.live import LiveHall, hallq

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")]


@pytest.fixture
def kiosk_page() -> Iterator[Page]:
    with sync_playwright() as playwright_:
        browser = launch(playwright_)
        try:
            page = browser.new_context(viewport=KIOSK, locale="zh-CN").new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def replace_token(hall: LiveHall) -> str:
    """`hallq device add kiosk-1` again, then a restart (as `make run` does): the open kiosk is refused."""
    token = hallq("device", "add", "kiosk-1", "--kind", "kiosk", instance=hall.instance).strip()
    hall.stop()
    hall.start()
    return token


def serving(page: Page) -> None:
    expect(page.locator("#home")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-socket", "connected")
    assert "token=" not in page.url  # the token never stays in the address bar


def refused(page: Page) -> None:
    expect(page.locator(".fatal-message")).to_have_text("本设备令牌无效或已被更换")


def test_a_kiosk_refused_for_a_replaced_token_picks_up_the_new_address(kiosk_page: Page, tmp_path: Path) -> None:
    hall = LiveHall(tmp_path).prepare().start()
    try:
        kiosk_page.goto(f"{hall.url}/kiosk#token={hall.kiosk_token}")
        serving(kiosk_page)
        new = replace_token(hall)
        refused(kiosk_page)
        kiosk_page.evaluate("token => { location.hash = `token=${token}`; }", new)  # same tab, no reload by hand
        serving(kiosk_page)
        newer = replace_token(hall)
        refused(kiosk_page)
        kiosk_page.goto("about:blank")
        kiosk_page.goto(f"{hall.url}/kiosk#token={newer}")
        serving(kiosk_page)
        kiosk_page.reload()  # the new token was kept: a later restart or reload needs no address
        serving(kiosk_page)
    finally:
        hall.stop()
