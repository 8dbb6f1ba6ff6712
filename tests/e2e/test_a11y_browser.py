"""Accessibility of the resident-facing screens (issue 17 point 3): axe-core, vendored in tests/e2e/vendor/ (never
fetched at run time), run in headless Chromium against a real `hallq run` on the kiosk, the tracking page and the
rating tablet. Residents are often elderly (the manual's 场所设施标准 3.6 has 老花眼镜 at the desks, 3.9 无障碍
facilities, seed lines 1124-1134): no serious or critical violation, and normal text at WCAG AAA contrast (axe's
`color-contrast-enhanced`, ≥ 7:1).

Run it alone with

    PYTHONPATH=$PWD .venv/bin/python -m pytest -q tests/e2e/test_a11y_browser.py
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e import test_browser
from tests.e2e.test_browser import CHROMIUM, DISPLAY, KIOSK, new_page, take_ticket
from tests.e2e.test_evaluation_browser import TABLET
from tests.e2e.test_fit_browser import UPRIGHT_TABLET
from tests.live import LiveHall, TabletHall, running

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"
PHONE = {"width": 390, "height": 844}
#: what fails a screen: axe's own grading of how badly a violation shuts people out
BLOCKING = ("serious", "critical")
#: WCAG AAA contrast for normal text (7:1; 4.5:1 for large text), off in axe by default
CONTRAST = "color-contrast-enhanced"

browser = test_browser.browser  # the same module-scoped headless Chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now. The script goes in through the DevTools protocol
    (page.evaluate), which the page's Content-Security-Policy does not govern, so the screens are checked under
    their real CSP: an add_script_tag would be an inline script the CSP refuses."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    assert page.evaluate("axe.version") == AXE_VERSION
    return page.evaluate("""async (rule) => {
        const result = await axe.run(document, {rules: {[rule]: {enabled: true}}, resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
    }""", CONTRAST)


def assert_accessible(page: Page, screen: str) -> None:
    """No serious or critical violation, and no text below 7:1, on `screen`."""
    failing = [v for v in axe_violations(page) if v["impact"] in BLOCKING or v["id"] == CONTRAST]
    assert not failing, f"{screen}: " + "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}: " + "; ".join(f"{n['target']} — {n['summary']}" for n in v["nodes"])
        for v in failing)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TabletHall]:
    yield from running(TabletHall(LiveHall(tmp_path_factory.mktemp("a11y")).prepare()))


def test_the_tracking_page_and_the_rating_tablet_are_accessible(
        browser: Browser, hall: TabletHall, contexts: list[BrowserContext]) -> None:
    """First in the module: its ticket is the next one 1号窗口 calls."""
    ticket = hall.live.kiosk().post(hall.url("/api/tickets"), json={"service": "hukou-id"}).json()["ticket"]
    track_url = urlsplit(ticket["track_url"]).path
    phone = new_page(browser, hall.url(track_url), PHONE, contexts)
    expect(phone.locator("#t-number")).to_be_visible()
    assert_accessible(phone, "tracking page, waiting")

    tablet = new_page(browser, hall.url(f"/rate/1#token={hall.tablet_token}"), TABLET, contexts)
    expect(tablet.locator("#ev-idle")).to_be_visible()
    assert_accessible(tablet, "rating tablet, idle")
    clerk = hall.live.staff("clerk1", window=1)
    clerk.post(hall.url("/api/windows/1/call-next")).raise_for_status()
    clerk.post(hall.url("/api/windows/1/finish")).raise_for_status()
    expect(tablet.locator("#ev-ask")).to_be_visible()
    assert_accessible(tablet, "rating tablet, the prompt")
    tablet.get_by_role("button", name="不满意", exact=True).click()
    expect(tablet.locator("#ev-why")).to_be_visible()
    assert_accessible(tablet, "rating tablet, the reason")
    tablet.set_viewport_size(UPRIGHT_TABLET)
    expect(tablet.locator("#ev")).to_have_attribute("data-orientation", "portrait")
    assert_accessible(tablet, "rating tablet upright, the reason")

    phone.reload()
    expect(phone.locator("#t-rate")).to_be_visible()
    assert_accessible(phone, "tracking page, rating")
    phone.get_by_role("button", name="不满意", exact=True).click()
    expect(phone.locator("#t-why")).to_be_visible()
    assert_accessible(phone, "tracking page, the reason")
    phone.get_by_role("button", name="等候时间过长").click()
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.locator("#t-rated")).to_be_visible()
    assert_accessible(phone, "tracking page, rated")


def test_the_kiosk_screens_are_accessible(browser: Browser, hall: TabletHall, contexts: list[BrowserContext]) -> None:
    kiosk = new_page(browser, hall.url(f"/kiosk#token={hall.live.kiosk_token}"), KIOSK, contexts)
    expect(kiosk.locator("#home")).to_be_visible()
    expect(kiosk.get_by_role("button", name=re.compile("^户籍管理"))).to_be_visible()
    assert_accessible(kiosk, "kiosk home")
    kiosk.get_by_role("button", name=re.compile("^户籍管理")).click()
    expect(kiosk.get_by_role("button", name=re.compile("^居民身份证核发"))).to_be_visible()
    assert_accessible(kiosk, "kiosk category")
    kiosk.get_by_role("button", name="← 返回").first.click()
    kiosk.locator("#appointment-open").click()
    expect(kiosk.locator("#keypad")).to_be_visible()
    assert_accessible(kiosk, "kiosk appointment keypad")
    kiosk.locator("#appointment-back").click()
    take_ticket(kiosk, "户籍管理", "居民身份证核发")
    assert_accessible(kiosk, "kiosk ticket")
    kiosk.get_by_role("button", name="完成").click()
    kiosk.set_viewport_size(DISPLAY)  # the landscape kiosk
    expect(kiosk.locator("#home")).to_be_visible()
    assert_accessible(kiosk, "kiosk home, landscape")
    kiosk.get_by_role("button", name=re.compile("^长辈模式")).click()
    expect(kiosk.locator("body")).to_have_class(re.compile(r"\belder\b"))
    assert_accessible(kiosk, "kiosk 长辈模式 home, landscape")
    kiosk.get_by_role("button", name=re.compile("^户籍管理")).click()
    expect(kiosk.locator("#category")).to_be_visible()
    assert_accessible(kiosk, "kiosk 长辈模式 category, landscape")
