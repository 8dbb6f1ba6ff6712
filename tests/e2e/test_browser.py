"""End to end: the kiosk, caller and display screens in headless Chromium against a real `hallq run` process.

Run as a script to refresh the screenshots in docs/screenshots/:

    .venv/bin/python -m tests.e2e.test_browser
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.live import ROOT, LiveHall, hallq

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DISPLAY = {"width": 1920, "height": 1080}
KIOSK = {"width": 1080, "height": 1920}
CALLER = {"width": 1366, "height": 768}
TIMEOUT_MS = 10_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                     "(`make system-deps` installs it)"),
]

OpenPage = Callable[..., Page]


def launch(playwright_: Playwright) -> Browser:
    return playwright_.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


#: one part of a screenshot script: drives the browser against the live hall, writes its PNGs into the folder
Step = Callable[[Browser, LiveHall, list[BrowserContext], Path], None]


def shoot(live: LiveHall, steps: list[Step], out: Path) -> None:
    """The steps against a started hall in one headless Chromium (the screenshot scripts), each step's pages closed
    after it as the tests' fixture does (the hall holds only so many connections of one address); the hall stopped
    after."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright_:
            browser_ = launch(playwright_)
            try:
                for step in steps:
                    opened: list[BrowserContext] = []
                    step(browser_, live, opened, out)
                    for context in opened:
                        context.close()
            finally:
                browser_.close()
    finally:
        live.stop()


def new_page(browser: Browser, url: str, viewport: dict[str, int], contexts: list[BrowserContext],
             zone: str = "Asia/Shanghai", stopped_at: datetime | None = None) -> Page:
    """A page in its own browser context on a device set to `zone`, its clock stopped at `stopped_at` if given."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id=zone)
    if stopped_at is not None:
        context.clock.set_fixed_time(stopped_at)
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    return page


def wait_until(page: Page, expression: str, timeout_ms: float = TIMEOUT_MS) -> None:
    """Wait until `expression` is true in the page. Not page.wait_for_function: Playwright evaluates its predicate
    with eval inside the page, which the hall's Content-Security-Policy (no 'unsafe-eval') refuses."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms:.0f} ms: {expression}")
        page.wait_for_timeout(50)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHall]:
    live = LiveHall(tmp_path_factory.mktemp("e2e")).prepare().start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright_:
        chromium = launch(playwright_)
        try:
            yield chromium
        finally:
            chromium.close()


def page_opener(browser: Browser, zone: str = "Asia/Shanghai", stopped_at: datetime | None = None
                ) -> Iterator[OpenPage]:
    """open_page(url, viewport) -> a page in its own browser context (own localStorage and cookies); closed after."""
    contexts: list[BrowserContext] = []
    expect.set_options(timeout=TIMEOUT_MS)
    yield lambda url, viewport=DISPLAY: new_page(browser, url, viewport, contexts, zone, stopped_at)
    for context in contexts:
        context.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    yield from page_opener(browser)


# ---------------------------------------------------------------- screen steps

def confirm_ticket(kiosk: Page, item: str) -> None:
    """Every ticket asks first (issue 17): the dialog names the item; 确认取号."""
    dialog = kiosk.get_by_role("alertdialog", name="请确认您要办理的事项")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-name")).to_have_text(item)
    dialog.get_by_role("button", name="确认取号").click()
    expect(kiosk.locator("#ticket")).to_be_visible()


def take_ticket(kiosk: Page, category: str, item: str) -> str:
    kiosk.get_by_role("button", name=re.compile(f"^{category}")).click()
    kiosk.get_by_role("button", name=re.compile(f"^{item}")).click()
    confirm_ticket(kiosk, item)
    return kiosk.locator("#ticket-number").inner_text()


def log_in_and_sign_in(caller: Page, username: str, password: str, window: int) -> None:
    caller.fill("#username", username)
    caller.fill("#password", password)
    caller.get_by_role("button", name="登录").click()
    caller.locator(f"#window-list [data-window='{window}']").click()
    expect(caller.locator("#operate")).to_be_visible()


# ---------------------------------------------------------------- tests

def test_kiosk_ticket_is_called_at_the_window_and_shown_on_the_display(hall: LiveHall, open_page: OpenPage) -> None:
    display = open_page(f"{hall.url}/display#token={hall.display_token}", DISPLAY)
    expect(display.locator("#hall-name")).to_have_text("城关镇便民服务中心")
    assert "token" not in display.url, "the token must be removed from the address bar"
    expect(display.locator("#windows [data-window='1']")).to_contain_text("未开放")

    kiosk = open_page(f"{hall.url}/kiosk#token={hall.kiosk_token}", KIOSK)
    assert "token" not in kiosk.url
    assert take_ticket(kiosk, "户籍管理", "居民身份证核发") == "A001"
    expect(kiosk.locator("#ticket-service")).to_have_text("居民身份证核发")
    expect(kiosk.locator("#ticket-ahead")).to_have_text("0")
    expect(kiosk.locator("#ticket-windows")).to_have_text("1号窗口、6号窗口（一楼）")
    expect(kiosk.locator("#ticket-countdown")).to_contain_text("秒后自动返回首页")
    expect(kiosk.locator("#ticket-wait")).to_be_hidden()  # no window open yet: nobody can tell the wait

    caller = open_page(f"{hall.url}/caller", CALLER)
    log_in_and_sign_in(caller, "clerk1", hall.passwords["clerk1"], 1)
    expect(caller.locator("#op-window")).to_have_text("1号窗口")
    expect(caller.locator("#waiting-list .total")).to_contain_text("1 人")
    expect(display.locator("#windows [data-window='1']")).to_contain_text("请稍候")

    caller.get_by_role("button", name=re.compile("呼叫下一位")).click()
    expect(caller.locator("#current-number")).to_have_text("A001")
    expect(caller.locator("#current-status")).to_have_text("已呼叫")
    expect(caller.locator("#result")).to_contain_text("已呼叫 A001")
    expect(display.locator("#latest-number")).to_have_text("A001")
    expect(display.locator("#latest-window")).to_have_text("1号窗口")
    expect(display.locator("#latest-text")).to_have_text("请A001号到1号窗口办理")
    expect(display.locator("#windows [data-window='1'] .win-number")).to_have_text("A001")
    expect(display.locator("#recent li").first).to_contain_text("A001")
    wait_until(display, "window.hallqCalls.some(c => c.number === 'A001' && c.window === 1)")

    # a second resident; the clerk calls with F1 (which also finishes A001), then F5 = 办结, not a reload
    kiosk.get_by_role("button", name="完成").click()
    expect(kiosk.locator("#home")).to_be_visible()
    expect(kiosk.get_by_role("button", name=re.compile("^户籍管理"))).to_contain_text("等候 0 人")
    assert take_ticket(kiosk, "户籍管理", "居民身份证核发") == "A002"
    expect(caller.locator("#waiting-list .total")).to_contain_text("1 人")
    caller.evaluate("window.notReloaded = true")
    caller.keyboard.press("F1")
    expect(caller.locator("#current-number")).to_have_text("A002")
    expect(display.locator("#latest-number")).to_have_text("A002")
    wait_until(display, "window.hallqCalls.map(c => c.number).join() === 'A001,A002'")
    caller.keyboard.press("F5")
    expect(caller.locator("#current-number")).to_have_text("暂无")
    expect(caller.locator("#result")).to_contain_text("A002 已办结")
    assert caller.evaluate("window.notReloaded") is True
    expect(display.locator("#windows [data-window='1']")).to_contain_text("请稍候")

    # nobody waiting: the clerk is told so
    caller.keyboard.press("F1")
    expect(caller.locator("#result")).to_contain_text("当前没有等候的群众")

    # the window is free and its pace is known now: the next resident is told the call is near
    kiosk.get_by_role("button", name="完成").click()
    assert take_ticket(kiosk, "户籍管理", "居民身份证核发") == "A003"
    expect(kiosk.locator("#ticket-wait")).to_have_text("预计即将叫号")


def call_number(caller: Page, number: str) -> None:
    """特呼 (F7): the window calls this number whatever the calling rule would choose."""
    caller.keyboard.press("F7")
    caller.fill("#special-number", number)
    caller.keyboard.press("Enter")
    expect(caller.locator("#current-number")).to_have_text(number)


def test_closed_windows_are_told_and_a_transfer_arrives_marked(hall: LiveHall, open_page: OpenPage) -> None:
    """Issue 12, points 3 and 6: nobody is at 4号窗口 (二楼) or 6号窗口 (一楼), the windows of 种粮补贴发放."""
    kiosk = open_page(f"{hall.url}/kiosk#token={hall.kiosk_token}", KIOSK)
    category = kiosk.get_by_role("button", name=re.compile("^农业农村管理和服务"))
    expect(category.locator(".tile-note")).to_have_text("暂无窗口办理")
    category.click()
    item = kiosk.get_by_role("button", name=re.compile("^种粮补贴发放"))
    expect(item.locator(".tile-note")).to_have_text("暂无窗口办理")
    expect(item).to_be_enabled()  # told, not hidden: the resident may still take a number
    item.click()
    confirm_ticket(kiosk, "种粮补贴发放")
    expect(kiosk.locator("#ticket-windows")).to_have_text("4号窗口（二楼）；6号窗口（一楼）")
    expect(kiosk.locator("#ticket-notice")).to_have_text("目前没有窗口办理该事项，窗口开放后按取号顺序叫号")
    number = kiosk.locator("#ticket-number").inner_text()
    kiosk.get_by_role("button", name="完成").click()

    display = open_page(f"{hall.url}/display#token={hall.display_token}", DISPLAY)
    expect(display.locator("#windows [data-window='4'] .win-zone")).to_have_text("二楼")
    expect(display.locator("#windows [data-window='6'] .win-zone")).to_have_text("一楼")

    upstairs = open_page(f"{hall.url}/caller", CALLER)
    log_in_and_sign_in(upstairs, "admin", hall.passwords["admin"], 4)
    expect(category.locator(".tile-note")).to_be_hidden()  # a clerk is at 4号窗口 now
    call_number(upstairs, number)
    expect(upstairs.locator("#current-transfer")).to_be_hidden()
    upstairs.keyboard.press("F6")
    expect(upstairs.locator("#transfer-windows [data-window='6']")).to_have_count(0)  # nobody signed in there
    upstairs.locator("#transfer-dialog [data-close]").click()

    downstairs = open_page(f"{hall.url}/caller", CALLER)
    log_in_and_sign_in(downstairs, "clerk2", hall.passwords["clerk2"], 6)
    upstairs.keyboard.press("F6")
    expect(upstairs.locator("#transfer-windows [data-window='5']")).to_have_count(0)
    upstairs.locator("#transfer-windows [data-window='6']").click()
    expect(upstairs.locator("#result")).to_contain_text(f"{number} 已转至6号窗口")
    call_number(downstairs, number)
    expect(downstairs.locator("#current-transfer")).to_have_text("转入 · 来自 4号窗口")
    downstairs.reload()  # from the snapshot alone, as after a reconnect
    expect(downstairs.locator("#current-transfer")).to_have_text("转入 · 来自 4号窗口")
    downstairs.keyboard.press("F5")
    expect(downstairs.locator("#current-transfer")).to_be_hidden()
    for caller in (upstairs, downstairs):
        caller.get_by_role("button", name=re.compile("签退")).click()
        expect(caller.locator("#pick")).to_be_visible()


def test_api_errors_are_shown_to_the_clerk(hall: LiveHall, open_page: OpenPage) -> None:
    caller = open_page(f"{hall.url}/caller", CALLER)
    caller.fill("#username", "clerk2")
    caller.fill("#password", "wrong-password")
    caller.get_by_role("button", name="登录").click()
    expect(caller.locator("#login-error")).to_have_text("用户名或密码错误")
    log_in_and_sign_in(caller, "clerk2", hall.passwords["clerk2"], 2)
    caller.keyboard.press("F7")
    caller.fill("#special-number", "Z999")
    caller.get_by_role("button", name="呼叫", exact=True).click()
    expect(caller.locator("#result")).to_have_text(re.compile("今天没有 Z999 号"))
    caller.get_by_role("button", name=re.compile("签退")).click()
    expect(caller.locator("#pick")).to_be_visible()


def test_screens_without_a_token_say_so(hall: LiveHall, open_page: OpenPage) -> None:
    kiosk = open_page(f"{hall.url}/kiosk", KIOSK)
    expect(kiosk.get_by_role("alert")).to_contain_text("本设备未授权：请用管理员提供的带令牌的地址打开")
    display = open_page(f"{hall.url}/display", DISPLAY)
    expect(display.get_by_role("alert")).to_contain_text("本设备未授权")
    for screen, viewport in (("kiosk", KIOSK), ("display", DISPLAY)):
        stale = open_page(f"{hall.url}/{screen}#token=not-a-valid-token", viewport)
        expect(stale.get_by_role("alert")).to_contain_text("令牌无效")


def test_display_reconnects_after_a_server_restart(hall: LiveHall, open_page: OpenPage) -> None:
    display = open_page(f"{hall.url}/display#token={hall.display_token}", DISPLAY)
    offline = display.locator("#offline")
    expect(display.locator("#windows .win")).to_have_count(6)
    expect(offline).to_be_hidden()

    hall.stop()
    expect(offline).to_be_visible()
    expect(offline).to_have_text("连接中断，正在重连…")
    change_hall_while_offline(hall)  # the display can only learn this from the snapshot after reconnecting
    hall.start()

    expect(offline).to_be_hidden(timeout=20_000)
    expect(display.locator("#windows [data-window='2'] .win-number")).to_have_text("G001")
    expect(display.locator("#latest-number")).to_have_text("G001")
    expect(display.locator("#waiting [data-service='dibao']")).to_contain_text("1 人")


def change_hall_while_offline(hall: LiveHall) -> None:
    """With the server stopped: two 低保 tickets, clerk2 signs in to window 2 and calls the first."""
    from server.hall import Hall, Settings

    offline = Hall.open(Settings.resolve(hall.config, hall.instance))
    try:
        offline.engine.issue("dibao", None, "test", "desk")
        offline.engine.issue("dibao", None, "test", "desk")
        offline.engine.sign_in(2, "clerk2")
        offline.engine.call_next(2, "clerk2")
    finally:
        offline.storage.dispose()


# ---------------------------------------------------------------- screenshots for docs/screens.md

SHOTS = ROOT / "docs" / "screenshots"
DEMO_STAFF = {"clerk1": ("王小红", "1001"), "clerk2": ("李建国", "1002"), "clerk3": ("陈静", "1003"),
              "admin": ("赵敏", "0001")}


def take_screenshots(out: Path = SHOTS) -> None:
    """A demo hall with some traffic, then one PNG per screen."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        hall = LiveHall(Path(tmp)).prepare()
        for name, (display_name, staff_no) in DEMO_STAFF.items():
            role = "admin" if name == "admin" else "clerk"
            hall.passwords.setdefault(name, f"{name}-pass-2026")
            hallq("user", "add", name, "--role", role, "--password", hall.passwords[name], "--display-name",
                  display_name, "--staff-no", staff_no, instance=hall.instance)
        hall.start()
        try:
            demo_traffic(hall)
            with sync_playwright() as playwright_:
                browser = launch(playwright_)
                contexts: list[BrowserContext] = []
                try:
                    shoot_screens(browser, hall, out, contexts)
                finally:
                    browser.close()
        finally:
            hall.stop()


def demo_traffic(hall: LiveHall) -> None:
    kiosk = hall.kiosk()
    for service, count in (("hukou-id", 5), ("hukou-birth", 2), ("dibao", 5), ("disability", 2), ("relief", 1),
                           ("elder-card", 2), ("pension-pay", 4), ("medical-enrol", 2), ("grain-subsidy", 2),
                           ("business", 1)):
        for _ in range(count):
            kiosk.post(f"{hall.url}/api/tickets", json={"service": service, "priority": None}).raise_for_status()
    clerk2 = hall.staff("clerk2", window=2)
    admin = hall.staff("admin", window=3)
    for session, window in ((clerk2, 2), (admin, 3), (clerk2, 2), (admin, 3), (clerk2, 2), (admin, 3), (clerk2, 2)):
        session.post(f"{hall.url}/api/windows/{window}/call-next").raise_for_status()
    admin.post(f"{hall.url}/api/windows/3/start").raise_for_status()
    hall.staff("clerk3", window=5).post(f"{hall.url}/api/windows/5/pause").raise_for_status()


def shoot_screens(browser: Browser, hall: LiveHall, out: Path, contexts: list[BrowserContext]) -> None:
    display = new_page(browser, f"{hall.url}/display#token={hall.display_token}", DISPLAY, contexts)
    kiosk = new_page(browser, f"{hall.url}/kiosk#token={hall.kiosk_token}", KIOSK, contexts)
    expect(kiosk.locator("#home")).to_be_visible()
    expect(kiosk.get_by_role("button", name=re.compile("^户籍管理"))).to_contain_text("等候 7 人")
    kiosk.screenshot(path=out / "kiosk-home.png", animations="disabled")
    kiosk.get_by_role("button", name=re.compile("^社会保障")).click()
    expect(kiosk.locator("#category")).to_be_visible()
    kiosk.screenshot(path=out / "kiosk-category.png", animations="disabled")
    kiosk.get_by_role("button", name="← 返回").click()
    # nobody at 4号窗口 (二楼) or 6号窗口 (一楼): the tiles say so, and so does the ticket
    kiosk.get_by_role("button", name=re.compile("^农业农村管理和服务")).click()
    expect(kiosk.locator("#items .tile-note").first).to_have_text("暂无窗口办理")
    kiosk.screenshot(path=out / "kiosk-no-window.png", animations="disabled")
    kiosk.get_by_role("button", name=re.compile("^种粮补贴发放")).click()
    confirm_ticket(kiosk, "种粮补贴发放")
    expect(kiosk.locator("#ticket-notice")).to_be_visible()
    expect(kiosk.get_by_role("button", name="完成")).to_be_enabled()
    kiosk.screenshot(path=out / "kiosk-ticket-no-window.png", animations="disabled")
    kiosk.get_by_role("button", name="完成").click()
    take_ticket(kiosk, "社会保障", "城乡最低生活保障对象认定")  # 2号窗口 is open
    expect(kiosk.get_by_role("button", name="完成")).to_be_enabled()
    kiosk.screenshot(path=out / "kiosk-ticket.png", animations="disabled")

    caller = new_page(browser, f"{hall.url}/caller", CALLER, contexts)
    log_in_and_sign_in(caller, "clerk1", hall.passwords["clerk1"], 1)
    caller.keyboard.press("F1")
    expect(caller.locator("#current-number")).to_have_text("A001")
    caller.keyboard.press("F2")
    expect(caller.locator("#result")).to_contain_text("已重呼")
    expect(display.locator("#latest-number")).to_have_text("A001")
    expect(display.locator("#recent li")).to_have_count(8)
    caller.screenshot(path=out / "caller.png", animations="disabled")
    display.screenshot(path=out / "display.png", animations="disabled")


if __name__ == "__main__":
    take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
    print(f"screenshots written to {SHOTS if len(sys.argv) < 2 else sys.argv[1]}")
