"""The hall's clock (issue 12, point 7): every screen shows the time and date of `[hall] timezone`, whatever zone the
device is set to. A kiosk PC left on UTC once showed 00:32 while its tickets said 08:32.

The hall runs in this process on a ManualClock stopped at Friday 07:32:07 in Shanghai, which is Thursday 23:32:07 in
UTC: hour and date both differ. Chromium runs in UTC with its own clock stopped at the same instant (the device's
clock is right, only its zone is not), so every time on screen is exact.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from server.app import create_app
from server.clock import ManualClock
from server.hall import Hall, Settings
from tests.e2e import test_browser
from tests.e2e.test_browser import CALLER, CHROMIUM, DISPLAY, KIOSK, ROOT, OpenPage, log_in_and_sign_in, page_opener
from tests.live import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

INSTANT = datetime(2026, 3, 6, 7, 32, 7, tzinfo=ZoneInfo("Asia/Shanghai"))  # 2026-03-05 23:32:07 UTC
HALL_TIME, HALL_DATE = "07:32:07", "2026年3月6日 星期五"
DEVICE_ZONE = "UTC"
DESK = {"width": 1600, "height": 1000}
PASSWORD = "clock-pass-2026"

browser = test_browser.browser  # the same module-scoped headless Chromium


class ClockHall:
    """The demo hall (open at every hour) served from this process, its clock stopped at INSTANT."""

    def __init__(self, folder: Path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.app = create_app(Settings(ROOT / "config.toml", folder / "instance", f"sqlite:///{folder / 'hall.db'}",
                                       ManualClock(INSTANT), self.url), async_mode="threading")
        self.hall: Hall = self.app.extensions["hallq"]
        for name, role in (("clerk1", "clerk"), ("guide", "guide"), ("admin", "admin")):
            self.hall.accounts.add_user(name, role, PASSWORD, display_name=name)
        self.kiosk_token = self.hall.accounts.add_device("kiosk-1", "kiosk")
        self.display_token = self.hall.accounts.add_device("display-1", "display")
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join()
        self.app.extensions["hallq_stop"]()
        self.hall.storage.dispose()


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockHall]:
    served = ClockHall(tmp_path_factory.mktemp("clock"))
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """Pages on devices set to UTC, their clocks stopped at INSTANT."""
    yield from page_opener(browser, DEVICE_ZONE, INSTANT)


def log_in(page: Page, username: str) -> None:
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_the_device_really_is_in_another_zone(hall: ClockHall, open_page: OpenPage) -> None:
    page = open_page(f"{hall.url}/kiosk", KIOSK)
    assert page.evaluate("new Date().toString()").startswith("Thu Mar 05 2026 23:32:07 GMT+0000")


def test_kiosk_display_caller_and_tracking_page_show_the_halls_time(hall: ClockHall, open_page: OpenPage) -> None:
    display = open_page(f"{hall.url}/display#token={hall.display_token}", DISPLAY)
    expect(display.locator("#clock")).to_have_text(HALL_TIME[:5])
    expect(display.locator("#date")).to_have_text(HALL_DATE)

    kiosk = open_page(f"{hall.url}/kiosk#token={hall.kiosk_token}", KIOSK)
    expect(kiosk.locator("#clock")).to_have_text(HALL_TIME[:5])
    expect(kiosk.locator("#date")).to_have_text(HALL_DATE)
    kiosk.get_by_role("button", name=re.compile("^户籍管理")).click()
    kiosk.get_by_role("button", name=re.compile("^居民身份证核发")).click()
    with kiosk.expect_response(f"{hall.url}/api/tickets") as issued:
        kiosk.get_by_role("button", name="确认取号").click()  # every ticket asks first (issue 17)
    ticket = issued.value.json()["ticket"]
    expect(kiosk.locator("#ticket-time")).to_have_text(f"{HALL_DATE} {HALL_TIME}")

    phone = open_page(ticket["track_url"], {"width": 390, "height": 844})
    expect(phone.locator("#t-updated")).to_have_text(HALL_TIME)  # as the server drew it

    caller = open_page(f"{hall.url}/caller", CALLER)
    log_in_and_sign_in(caller, "clerk1", PASSWORD, 1)
    expect(caller.locator("#clock")).to_have_text(HALL_TIME)
    caller.keyboard.press("F1")
    expect(caller.locator("#current-number")).to_have_text(ticket["number"])
    expect(caller.locator("#result .result-time")).to_have_text(HALL_TIME)

    expect(phone.locator("#t-status")).to_have_text("正在呼叫您")  # the page's own refresh has run
    expect(phone.locator("#t-updated")).to_have_text(HALL_TIME)

    # a poor rating from the phone becomes a 整改 on the admin's follow-ups, dated in the hall
    caller.keyboard.press("F5")
    expect(caller.locator("#result")).to_contain_text("已办结")
    reason = requests.get(f"{ticket['track_url']}/state", timeout=5).json()["rating"]["reasons"][0]
    requests.post(f"{ticket['track_url']}/rate", json={"level": "dissatisfied", "reason": reason},
                  timeout=5).raise_for_status()
    admin = open_page(f"{hall.url}/admin/followups", DESK)
    log_in(admin, "admin")
    expect(admin.locator("#followups tr", has_text=ticket["number"])).to_contain_text(f"03-06 {HALL_TIME[:5]}")


def test_guide_desk_and_admin_use_the_halls_date(hall: ClockHall, open_page: OpenPage) -> None:
    guide = open_page(f"{hall.url}/guide", DESK)
    log_in(guide, "guide")
    expect(guide.locator("#desk")).to_be_visible()
    expect(guide.locator("#clock")).to_have_text(HALL_TIME)
    expect(guide.locator("#book-date")).to_have_value("2026-03-06")
    expect(guide.locator("#book-date")).to_have_attribute("min", "2026-03-06")
    last = INSTANT.date() + timedelta(days=hall.hall.config.appointments.days_ahead)
    expect(guide.locator("#book-date")).to_have_attribute("max", last.isoformat())

    admin = open_page(f"{hall.url}/admin/stats", DESK)
    log_in(admin, "admin")
    expect(admin.locator("#clock")).to_have_text(HALL_TIME)
    for button, first, last in (("今天", "2026-03-06", "2026-03-06"), ("本周", "2026-03-02", "2026-03-06"),
                                ("本月", "2026-03-01", "2026-03-06"), ("上月", "2026-02-01", "2026-02-28")):
        admin.get_by_role("button", name=button, exact=True).click()
        expect(admin.locator("#from")).to_have_value(first)
        expect(admin.locator("#to")).to_have_value(last)
