"""The kiosk for elderly residents and when things go wrong, in headless Chromium against a real `hallq run`, at the
kiosk's real sizes (1080×1920 portrait, 1920×1080 landscape): 长辈模式 (type 1.5×, a few tiles a page, prompts
queued for the hall's own voice, off again back home), the ticket page's 完成 on screen in landscape, and the
message when the server is out of reach.

Screenshots go to docs/screenshots/ when run as a script: ``.venv/bin/python -m tests.e2e.test_elder_browser``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.test_a11y_browser import assert_accessible
from tests.e2e.test_browser import (
    CHROMIUM,
    DISPLAY,
    KIOSK,
    SHOTS,
    OpenPage,
    confirm_ticket,
    launch,
    new_page,
    page_opener,
    shoot,
    wait_until,
)
from tests.live import LiveHall

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

OFFLINE = "系统暂时无法取号，请到导询台，工作人员会为您登记"
LANDSCAPE = DISPLAY  # a landscape kiosk is a 1920×1080 screen


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHall]:
    live = LiveHall(tmp_path_factory.mktemp("elder")).prepare().start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    yield from page_opener(browser)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright_:
        chromium = launch(playwright_)
        try:
            yield chromium
        finally:
            chromium.close()


def kiosk_at(open_page: OpenPage, hall: LiveHall, viewport: dict[str, int]) -> Page:
    kiosk = open_page(f"{hall.url}/kiosk#token={hall.kiosk_token}", viewport)
    expect(kiosk.locator("#home")).to_be_visible()
    expect(kiosk.locator("html")).to_have_attribute("data-socket", "connected")
    return kiosk


def font_px(page: Page, selector: str) -> float:
    return float(page.locator(selector).first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)"))


def spoken(page: Page) -> list[str]:
    return list(page.evaluate("window.hallqKiosk.spoken"))


def wait_spoken(page: Page, text: str) -> None:
    wait_until(page, f"window.hallqKiosk.spoken.includes({text!r})")


def inside(page: Page, selector: str) -> bool:
    """The element is wholly inside the viewport."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= size["height"] and box["x"] + box["width"] <= size["width"]


def elder_walk(kiosk: Page, hall: LiveHall, out: Path | None = None, name: str = "kiosk-elder") -> None:
    """长辈模式 on, a category, an item, the ticket, 完成: type, pages and prompts checked on the way."""
    normal = {sel: font_px(kiosk, sel) for sel in ("#home .lead", "#categories .tile-name", "#home .hint")}
    answers: list[dict[str, str | None]] = []
    kiosk.on("response", lambda r: answers.append(r.json()) if r.url.endswith("/api/kiosk/prompts") else None)
    kiosk.get_by_role("button", name=re.compile("^长辈模式")).click()
    expect(kiosk.locator("body")).to_have_class(re.compile(r"\belder\b"))
    for selector, px in normal.items():
        assert font_px(kiosk, selector) >= 1.5 * px, selector
    wait_spoken(kiosk, "请选择您要办理的业务")
    pager = kiosk.locator(".elder-pager[data-for='categories']")
    expect(pager).to_be_visible()  # 12 categories: a few a page
    assert kiosk.locator("#categories .tile:visible").count() < kiosk.locator("#categories .tile").count()
    if out:
        kiosk.screenshot(path=out / f"{name}-home.png", animations="disabled")
    kiosk.get_by_role("button", name=re.compile("^户籍管理")).click()
    expect(kiosk.locator("#category")).to_be_visible()
    wait_spoken(kiosk, "请选择办理事项")
    if out:
        kiosk.screenshot(path=out / f"{name}-category.png", animations="disabled")
    kiosk.get_by_role("button", name=re.compile("^居民身份证核发")).click()
    wait_spoken(kiosk, "您选择的是居民身份证核发")  # said while the confirmation asks
    confirm_ticket(kiosk, "居民身份证核发")
    number = kiosk.locator("#ticket-number").inner_text()
    wait_spoken(kiosk, "您选择的是居民身份证核发")
    wait_until(kiosk, "window.hallqKiosk.spoken.some((t) => t.startsWith('您的号码是'))")
    ticket_said = [text for text in spoken(kiosk) if text.startswith("您的号码是")]
    digits = "".join("零一二三四五六七八九"[int(c)] if c.isdigit() else c for c in number)
    assert ticket_said == [f"您的号码是{digits}号，请留意叫号，到一号窗口、六号窗口（一楼）办理"]
    said = spoken(kiosk)
    assert said.index("请选择办理事项") < said.index("您选择的是居民身份证核发") < said.index(ticket_said[0])
    if out:
        expect(kiosk.get_by_role("button", name="完成")).to_be_enabled()
        kiosk.screenshot(path=out / f"{name}-ticket.png", animations="disabled")
    assert inside(kiosk, "#done") and inside(kiosk, "#ticket-countdown")
    expect(kiosk.get_by_role("button", name="完成")).to_be_enabled()
    kiosk.get_by_role("button", name="完成").click()
    expect(kiosk.locator("#home")).to_be_visible()
    expect(kiosk.locator("body")).not_to_have_class(re.compile(r"\belder\b"))  # the next resident: the normal kiosk
    for selector, px in normal.items():
        assert font_px(kiosk, selector) == px, selector
    expect(kiosk.locator(".elder-pager[data-for='categories']")).to_be_hidden()
    # each prompt came with a WAV of the hall's own voice (real espeak-ng speech, served as the display's calls are)
    assert {answer["text"] for answer in answers} >= set(said) and all(answer["audio"] for answer in answers)
    wav = kiosk.request.get(hall.url + str(answers[-1]["audio"]))
    assert wav.ok and wav.body()[:4] == b"RIFF" and len(wav.body()) > 20_000


def test_elder_mode_in_portrait(hall: LiveHall, open_page: OpenPage) -> None:
    kiosk = kiosk_at(open_page, hall, KIOSK)
    elder_walk(kiosk, hall)


def test_elder_mode_in_landscape_pages_and_ends_after_the_countdown(hall: LiveHall, open_page: OpenPage) -> None:
    kiosk = kiosk_at(open_page, hall, LANDSCAPE)
    elder_walk(kiosk, hall)
    kiosk.get_by_role("button", name=re.compile("^长辈模式")).click()
    first = kiosk.locator("#categories .tile:visible").first.inner_text()
    kiosk.get_by_role("button", name="下一页").click()
    expect(kiosk.locator(".elder-page-no").first).to_have_text("第 2 / 4 页")
    assert kiosk.locator("#categories .tile:visible").first.inner_text() != first
    assert kiosk.locator("#categories .tile:visible").count() == 3
    kiosk.get_by_role("button", name="上一页").click()
    kiosk.get_by_role("button", name=re.compile("^户籍管理")).click()
    expect(kiosk.locator("#category-countdown")).to_contain_text("秒后自动返回首页")
    kiosk.clock.install()  # the 30 s countdown, run on: the mode ends by itself too
    kiosk.clock.run_for(31_000)
    expect(kiosk.locator("#home")).to_be_visible()
    expect(kiosk.locator("body")).not_to_have_class(re.compile(r"\belder\b"))


def test_the_ticket_page_keeps_done_on_a_landscape_kiosk(hall: LiveHall, open_page: OpenPage) -> None:
    for viewport in (LANDSCAPE, KIOSK):
        kiosk = kiosk_at(open_page, hall, viewport)
        kiosk.get_by_role("button", name=re.compile("^户籍管理")).click()
        kiosk.get_by_role("button", name=re.compile("^户口县内迁移")).click()
        confirm_ticket(kiosk, "户口县内迁移")
        expect(kiosk.locator("#ticket-countdown")).to_contain_text("秒后自动返回首页")
        assert inside(kiosk, "#done") and inside(kiosk, "#ticket-countdown") and inside(kiosk, ".ticket-card"), viewport


def test_the_kiosk_says_what_to_do_while_the_server_is_out_of_reach(hall: LiveHall, open_page: OpenPage) -> None:
    kiosk = kiosk_at(open_page, hall, KIOSK)
    message = kiosk.locator("#kiosk-offline")
    expect(message).to_be_hidden()
    hall.stop()
    try:
        expect(message).to_be_visible()
        expect(message).to_have_text(OFFLINE)
        expect(kiosk.locator("#home")).to_be_hidden()
        expect(kiosk.locator("#offline")).to_be_hidden()  # the shared banner would cover the hall's name
        header, box = kiosk.locator(".topbar").bounding_box(), message.bounding_box()
        assert header and box and box["y"] >= header["y"] + header["height"]  # the hall's name stays readable
        assert font_px(kiosk, "#kiosk-offline") >= 64
        assert_accessible(kiosk, "kiosk, the server out of reach")
    finally:
        hall.start()
    expect(message).to_be_hidden(timeout=20_000)
    expect(kiosk.locator("#home")).to_be_visible()


#: the feed's websocket handshake fails (the hall answers 404 at that address) while window.hallqRefuseFeed is true
REFUSE_FEED = """(() => {
  const Real = window.WebSocket;
  window.hallqRefuseFeed = true;
  window.WebSocket = function (url, protocols) {
    const refused = window.hallqRefuseFeed && String(url).includes("/socket.io/");
    return new Real(refused ? `${location.origin.replace(/^http/, "ws")}/no-feed-here/` : url, protocols);
  };
  window.WebSocket.prototype = Real.prototype;
  for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) window.WebSocket[name] = Real[name];
})();"""


def test_a_kiosk_that_never_reached_the_feed_says_so_then_recovers(hall: LiveHall, browser: Browser,
                                                                   contexts: list[BrowserContext]) -> None:
    """The page came, the server's feed does not answer (connect_error, never a disconnect): the same message.
    The screens' Socket.IO is a websocket only (Playwright's routes do not fail a websocket's handshake), so the
    page's websockets to the feed are sent to an address of the hall that is no feed until they are let through."""
    context = browser.new_context(viewport=KIOSK, locale="zh-CN", timezone_id="Asia/Shanghai")
    contexts.append(context)
    context.add_init_script(REFUSE_FEED)
    kiosk = context.new_page()
    kiosk.goto(f"{hall.url}/kiosk#token={hall.kiosk_token}")
    expect(kiosk.locator("#kiosk-offline")).to_be_visible()
    expect(kiosk.locator("html")).to_have_attribute("data-socket", "offline")
    kiosk.evaluate("window.hallqRefuseFeed = false")
    expect(kiosk.locator("#kiosk-offline")).to_be_hidden(timeout=20_000)
    expect(kiosk.locator("#home")).to_be_visible()


def test_a_failed_request_says_the_same(hall: LiveHall, open_page: OpenPage) -> None:
    """The socket still up but the ticket's request lost on the way: the same words, in the dialog."""
    kiosk = kiosk_at(open_page, hall, KIOSK)
    kiosk.route("**/api/tickets", lambda route: route.abort())
    kiosk.get_by_role("button", name=re.compile("^户籍管理")).click()
    kiosk.get_by_role("button", name=re.compile("^户口县内迁移")).click()
    kiosk.get_by_role("button", name="确认取号").click()
    expect(kiosk.locator("#kiosk-error-text")).to_have_text(OFFLINE)


# ---------------------------------------------------------------- screenshots for docs/screens.md

def elder_shots(browser: Browser, hall: LiveHall, contexts: list[BrowserContext], out: Path) -> None:
    elder_walk(kiosk_on(browser, hall, KIOSK, contexts), hall, out)
    elder_walk(kiosk_on(browser, hall, LANDSCAPE, contexts), hall, out, "kiosk-elder-landscape")
    kiosk = kiosk_on(browser, hall, LANDSCAPE, contexts)
    kiosk.get_by_role("button", name=re.compile("^户籍管理")).click()
    kiosk.get_by_role("button", name=re.compile("^户口县内迁移")).click()
    confirm_ticket(kiosk, "户口县内迁移")
    expect(kiosk.get_by_role("button", name="完成")).to_be_enabled()
    kiosk.screenshot(path=out / "kiosk-ticket-landscape.png", animations="disabled")


def offline_shot(browser: Browser, hall: LiveHall, contexts: list[BrowserContext], out: Path) -> None:
    kiosk = kiosk_on(browser, hall, KIOSK, contexts)
    hall.stop()
    expect(kiosk.locator("#kiosk-offline")).to_be_visible()
    kiosk.screenshot(path=out / "kiosk-offline.png", animations="disabled")
    hall.start()


def kiosk_on(browser: Browser, hall: LiveHall, viewport: dict[str, int], contexts: list[BrowserContext]) -> Page:
    kiosk = new_page(browser, f"{hall.url}/kiosk#token={hall.kiosk_token}", viewport, contexts)
    expect(kiosk.locator("html")).to_have_attribute("data-socket", "connected")
    return kiosk


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        shoot(LiveHall(Path(tmp)).prepare().start(), [elder_shots, offline_shot],
              Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
