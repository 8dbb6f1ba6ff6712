"""The district's screens in headless Chromium against the district server on a real socket: a district admin logs
in, sees every hall side by side with the 98% marker, drills down to a hall's own statistics page, and watches the
live board change when the hall ships a batch. Screenshots go to $DISTRICT_SHOTS (or the test's folder)."""

from __future__ import annotations

import os
import random
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from werkzeug.serving import make_server

from server.clock import ManualClock
from server.hall import Hall
from tests.district.conftest import ADMIN, ADMIN_PASSWORD
from tests.district.test_figures import DAYS, local, morning, open_hall
from tests.district.test_screens import CODE, PERIOD, ship_all
from tests.e2e.test_browser import CHROMIUM, TIMEOUT_MS, launch, new_page, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")]
SCREEN = {"width": 1600, "height": 1000}


@pytest.fixture
def served(district_app: Flask, clock: ManualClock, tmp_path: Path) -> Iterator[tuple[str, Flask, Hall]]:
    """The district (hall dongcheng shipped two mornings) answering on a port of its own, in a thread."""
    district_app.extensions["district"].register()
    district_app.extensions["district_accounts"].add_user(ADMIN, ADMIN_PASSWORD, "区管理员")
    hall = open_hall(tmp_path, clock)
    luck = random.Random(29)
    for day in DAYS[:2]:
        morning(hall, clock, day, luck)
    ship_all(district_app, hall)
    server = make_server("127.0.0.1", 0, district_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", district_app, hall
    server.shutdown()
    thread.join()
    hall.storage.dispose()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright_:
        chromium = launch(playwright_)
        yield chromium
        chromium.close()


def logged_in(browser: Browser, url: str, contexts: list[BrowserContext]) -> Page:
    page = new_page(browser, f"{url}/district/?{PERIOD}", SCREEN, contexts)
    expect(page).to_have_url(re.compile(r"/district/login\?next=/district/"))  # sent to the login first
    page.fill("#username", ADMIN)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(f"{url}/district/?{PERIOD}")
    return page


def test_a_district_admin_sees_the_halls_drills_down_and_watches_the_board(
        served: tuple[str, Flask, Hall], browser: Browser, clock: ManualClock, tmp_path: Path) -> None:
    url, app, hall = served
    shots = Path(os.environ.get("DISTRICT_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    contexts: list[BrowserContext] = []
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        page = logged_in(browser, url, contexts)
        total = hall.stats.report(DAYS[0], DAYS[1])["total"]
        row = page.locator(f'#district-table tr[data-hall="{CODE}"]')
        expect(row.locator("td").first).to_have_text(str(total["issued"]))
        expect(row.locator(".rate-text")).to_have_text(f"{total['satisfaction_rate'] * 100:.2f}%")
        expect(row.locator(".rate-target")).to_have_count(1)
        expect(page.locator('#district-table tr[data-hall="xishan"] td')).to_have_text("尚未上报数据")
        page.screenshot(path=shots / "district-figures.png", full_page=True, animations="disabled")

        row.locator("a").click()
        expect(page).to_have_url(f"{url}/district/halls/{CODE}?{PERIOD}")
        expect(page.locator("#tiles .stat-value").first).to_have_text(str(total["issued"]))
        expect(page.locator("#stats-period")).to_contain_text(f"{DAYS[0]} 至 {DAYS[1]}")
        wait_until(page, "Object.keys(window.hallqCharts).length >= 4")
        page.screenshot(path=shots / "district-hall.png", full_page=True, animations="disabled")

        page.goto(f"{url}/district/live")
        card = page.locator(f'.live-hall[data-hall="{CODE}"]')
        expect(card.locator(".live-windows")).to_have_text("4 / 6")
        wait_until(page, "document.documentElement.dataset.socket === 'connected'")
        clock.set(local(DAYS[2], 9, 0))
        for _ in range(7):
            clock.advance(minutes=1)
            hall.engine.issue("hukou-id", None, "device:kiosk-1")
        ship_all(app, hall)
        expect(card.locator(".live-waiting")).to_have_text("7")
        expect(card.locator(".live-seen")).to_contain_text("最后上报")
        page.screenshot(path=shots / "district-live.png", full_page=True, animations="disabled")
    finally:
        for context in contexts:
            context.close()
