"""Issue 14 (7): every screen, served with the strict Content-Security-Policy, loads in Chromium without one
violation (no inline script, style or handler left), and the staff screens still log in and act through it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_browser import CALLER, browser, hall, log_in_and_sign_in, new_page  # noqa: F401
from tests.live import LiveHall

pytestmark = pytest.mark.slow

#: what Chromium says (on the console, and as a DOM event) when the policy blocks something
LISTEN = """document.addEventListener("securitypolicyviolation", (e) =>
  console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""


@pytest.fixture
def contexts() -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def watched(browser: Browser, contexts: list[BrowserContext], violations: list[str]) -> BrowserContext:  # noqa: F811
    context = browser.new_context(viewport=CALLER, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.add_init_script(LISTEN)
    context.on("console", lambda message: violations.append(message.text)
               if re.search("Content Security Policy|CSP violation", message.text) else None)
    contexts.append(context)
    return context


def visit(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    answer = page.goto(url)
    assert answer is not None and "script-src 'self'" in answer.headers.get("content-security-policy", ""), url
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # the screen's script has drawn it (sockets, fetches, QR images)
    return page


def test_every_screen_loads_without_a_csp_violation(hall: LiveHall, browser: Browser,  # noqa: F811
                                                    contexts: list[BrowserContext]) -> None:
    violations: list[str] = []
    ticket = hall.kiosk().post(f"{hall.url}/api/tickets", json={"service": "hukou-id"}).json()["ticket"]
    clerk = hall.staff("clerk1", window=1)
    clerk.post(f"{hall.url}/api/windows/1/call-next").raise_for_status()
    finished = clerk.post(f"{hall.url}/api/windows/1/finish", json={"case": "supplement", "materials": ["户口簿"]})
    case = finished.json()["case"]
    clerk.post(f"{hall.url}/api/windows/1/sign-out").raise_for_status()

    devices = watched(browser, contexts, violations)
    for url in ("/", f"/kiosk#token={hall.kiosk_token}", f"/display#token={hall.display_token}", "/window/1",
                "/rate/1", urlsplit(ticket["track_url"]).path):
        visit(devices, f"{hall.url}{url}")

    admin = watched(browser, contexts, violations)
    assert admin.request.post(f"{hall.url}/api/auth/login",
                              data={"username": "admin", "password": hall.passwords["admin"]}).ok
    for url in ("/caller", "/admin", "/admin/stats", "/admin/followups", "/admin/complaints", "/admin/staff",
                "/account", "/guide", "/admin/devices", "/admin/archives", "/admin/health",
                "/guide/register",
                f"/caller/notice/{case['id']}"):
        visit(admin, f"{hall.url}{url}")
    assert violations == []

    caller = new_page(browser, f"{hall.url}/caller", CALLER, contexts)
    log_in_and_sign_in(caller, "clerk2", hall.passwords["clerk2"], 2)
    caller.locator("#pause-button").click()  # a bodyless POST: hallq.api() types it JSON, or the guard refuses it
    expect(caller.locator("#op-status")).to_have_text("暂停服务")
    assert violations == []
