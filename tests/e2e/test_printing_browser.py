"""Paper tickets as people in the hall see them: the kiosk's print outcome, the clerk's printer alert, the
resident's tracking page on a phone. Headless Chromium against `hallq run` and a fake TCP printer.

Screenshots go to docs/screenshots/ when run as a script: ``.venv/bin/python -m tests.e2e.test_printing_browser``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.api.test_printing import printing_hall
from tests.e2e.test_browser import (
    CALLER,
    CHROMIUM,
    KIOSK,
    SHOTS,
    TIMEOUT_MS,
    launch,
    log_in_and_sign_in,
    new_page,
    take_ticket,
)
from tests.live import LiveHall
from tests.printing.fake_printer import FakePrinter

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

PHONE = {"width": 390, "height": 844}
PRINT_FAILED = "打印失败，请记住您的号码或到导询台补打"


class PrintingHall:
    """A live hall whose kiosk prints on a fake network printer, and a browser to look at it."""

    def __init__(self, folder: Path, browser: Browser):
        self.printer = FakePrinter().start()
        config = folder / "hall.toml"
        config.write_text(printing_hall(self.printer.port, timeout=1.0), encoding="utf-8")
        self.hall = LiveHall(folder / "instance", config=config).prepare().start()
        self.browser = browser
        self.contexts: list[BrowserContext] = []

    def page(self, path: str, viewport: dict[str, int]) -> Page:
        return new_page(self.browser, f"{self.hall.url}{path}", viewport, self.contexts)

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.hall.stop()
        self.printer.close()


@pytest.fixture
def printing(tmp_path: Path) -> Iterator[PrintingHall]:
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright_:
        browser = launch(playwright_)
        setup = PrintingHall(tmp_path, browser)
        try:
            yield setup
        finally:
            setup.close()
            browser.close()


def test_the_kiosk_says_take_your_ticket_and_the_phone_page_follows_it(printing: PrintingHall) -> None:
    kiosk = printing.page(f"/kiosk#token={printing.hall.kiosk_token}", KIOSK)
    expect(kiosk.locator("html")).to_have_attribute("data-socket", "connected")  # the outcome comes this way
    assert take_ticket(kiosk, "户籍管理", "居民身份证核发") == "A001"
    expect(kiosk.locator("#ticket-print")).to_have_text("请取走号票")

    track = printing.hall.kiosk().get(f"{printing.hall.url}/api/tickets/1").json()["ticket"]
    assert "track_url" not in track  # the kiosk got it once, in its answer; reading it back is for the desk
    ticket = printing.hall.staff("guide").get(f"{printing.hall.url}/api/tickets/1").json()["ticket"]
    phone = printing.page(urlsplit(ticket["track_url"]).path, PHONE)
    expect(phone.locator("#t-number")).to_have_text("A001")
    expect(phone.locator("#t-hint")).to_have_text("即将到号，请留意叫号")
    printing.hall.staff("clerk1", window=1).post(f"{printing.hall.url}/api/windows/1/call-next").raise_for_status()
    expect(phone.locator("#t-hint")).to_have_text("请到 1号窗口（一楼） 办理", timeout=15_000)  # it refreshes by itself


def test_a_dead_printer_shows_on_the_kiosk_and_on_the_clerks_screen(printing: PrintingHall) -> None:
    caller = printing.page("/caller", CALLER)
    log_in_and_sign_in(caller, "clerk1", printing.hall.passwords["clerk1"], 1)
    expect(caller.locator("#printer-alerts")).to_be_hidden()

    printing.printer.close()  # switched off: the port refuses
    kiosk = printing.page(f"/kiosk#token={printing.hall.kiosk_token}", KIOSK)
    expect(kiosk.locator("html")).to_have_attribute("data-socket", "connected")
    assert take_ticket(kiosk, "户籍管理", "居民身份证核发") == "A001"
    expect(kiosk.locator("#ticket-print")).to_have_text(PRINT_FAILED)
    expect(kiosk.locator("#ticket-number")).to_have_text("A001")
    expect(caller.locator("#printer-alerts")).to_contain_text("打印机故障：kiosk-printer（kiosk-1）")
    kiosk.get_by_role("button", name="完成").click()  # the next resident is warned before choosing
    expect(kiosk.locator("#printer-notice")).to_contain_text("本机暂时无法打印号票")

    printing.printer.restart()
    printing.hall.staff("guide").post(f"{printing.hall.url}/api/tickets/1/reprint",
                                      json={"printer": "kiosk-printer"}).raise_for_status()
    expect(caller.locator("#printer-alerts")).to_be_hidden()
    expect(kiosk.locator("#printer-notice")).to_be_hidden()


def take_screenshots(out: Path = SHOTS) -> None:
    import tempfile

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright_:
        browser = launch(playwright_)
        setup = PrintingHall(Path(folder), browser)
        try:
            for _ in range(4):
                setup.hall.kiosk().post(f"{setup.hall.url}/api/tickets", json={"service": "id-card"})
            caller = setup.page("/caller", CALLER)
            log_in_and_sign_in(caller, "clerk1", setup.hall.passwords["clerk1"], 1)
            setup.printer.close()
            kiosk = setup.page(f"/kiosk#token={setup.hall.kiosk_token}", KIOSK)
            expect(kiosk.locator("html")).to_have_attribute("data-socket", "connected")
            take_ticket(kiosk, "户籍管理", "居民身份证核发")
            expect(kiosk.locator("#ticket-print")).to_have_text(PRINT_FAILED)
            kiosk.screenshot(path=out / "kiosk-print-failed.png", animations="disabled")
            expect(caller.locator("#printer-alerts")).to_be_visible()
            caller.screenshot(path=out / "caller-printer-alert.png", animations="disabled")
            ticket = setup.hall.staff("guide").get(f"{setup.hall.url}/api/tickets/3").json()["ticket"]
            setup.hall.staff("clerk1", window=1).post(f"{setup.hall.url}/api/windows/1/call-next")
            phone = setup.page(urlsplit(ticket["track_url"]).path, PHONE)
            expect(phone.locator("#t-hint")).to_have_text("即将到号，请留意叫号")
            phone.screenshot(path=out / "track-phone.png", animations="disabled")
        finally:
            setup.close()
            browser.close()


if __name__ == "__main__":
    take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
    print(f"screenshots written to {SHOTS if len(sys.argv) < 2 else sys.argv[1]}")
