"""Layouts that fit (issue 17 point 4): the rating tablet standing upright (800×1280), the display's 开启声音 panel
clear of the waiting counts, and its 「目前无人等候」 line clear of the caption bar. Headless Chromium against a real
`hallq run` of the demo hall; bounding boxes, not looks.

Run as a script to refresh their screenshots in docs/screenshots/:

    .venv/bin/python -m tests.e2e.test_fit_browser
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e import test_browser
from tests.e2e.test_browser import CHROMIUM, DISPLAY, KIOSK, SHOTS, new_page, shoot
from tests.e2e.test_voice_browser import REFUSE_SOUND_BEFORE_A_TAP
from tests.live import LiveHall, TabletHall, running

UPRIGHT_TABLET = {"width": 800, "height": 1280}
#: the least a level button may be, in the tablet's CSS pixels: a thumb, or an unsteady finger, hits it
LEVEL_MIN = {"width": 600, "height": 120}

Box = dict[str, float]

browser = test_browser.browser  # the same module-scoped headless Chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


class Hall(TabletHall):
    """The demo hall with its rating tablet rate-1 at 1号窗口, and clerk1 signed in there."""

    def issue(self, count: int = 1) -> None:
        for _ in range(count):
            self.live.kiosk().post(self.url("/api/tickets"), json={"service": "hukou-id"}).raise_for_status()

    def call_and_finish(self) -> None:
        clerk = self.live.staff("clerk1", window=1)
        clerk.post(self.url("/api/windows/1/call-next")).raise_for_status()
        clerk.post(self.url("/api/windows/1/finish")).raise_for_status()
        clerk.post(self.url("/api/windows/1/sign-out")).raise_for_status()


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    yield from running(Hall(LiveHall(tmp_path_factory.mktemp("fit")).prepare()))


def box(locator: Locator) -> Box:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


def inside(locator: Locator, viewport: dict[str, int]) -> None:
    b = box(locator)
    assert b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["width"] <= viewport["width"] + 0.5 \
        and b["y"] + b["height"] <= viewport["height"] + 0.5, f"{locator} {b} is outside {viewport}"


def apart(first: Locator, second: Locator) -> None:
    a, b = box(first), box(second)
    assert (a["x"] + a["width"] <= b["x"] + 0.5 or b["x"] + b["width"] <= a["x"] + 0.5
            or a["y"] + a["height"] <= b["y"] + 0.5 or b["y"] + b["height"] <= a["y"] + 0.5), \
        f"{first} {a} overlaps {second} {b}"


# ---------------------------------------------------------------- the steps (tests and screenshots alike)

def rate_upright(browser: Browser, hall: Hall, contexts: list[BrowserContext], out: Path) -> None:
    tablet = new_page(browser, hall.url(f"/rate/1#token={hall.tablet_token}"), UPRIGHT_TABLET, contexts)
    expect(tablet.locator("#ev")).to_have_attribute("data-orientation", "portrait")
    expect(tablet.locator("#ev-idle")).to_be_visible()
    for part in ("#ev-window", "#clock", ".ev-idle-title", ".ev-idle-sub"):
        inside(tablet.locator(part), UPRIGHT_TABLET)
    hall.issue()
    hall.call_and_finish()
    expect(tablet.locator("#ev-ask")).to_be_visible()
    levels = tablet.locator("#ev-levels button")
    expect(levels).to_have_count(5)
    countdown = tablet.locator("#ev-countdown")
    expect(countdown).to_be_visible()
    for part in ("#ev-number", "#ev-service", "#ev-clerk-name", "#ev-ask .ev-question", "#ev-countdown"):
        inside(tablet.locator(part), UPRIGHT_TABLET)
    for i in range(5):
        level = levels.nth(i)
        inside(level, UPRIGHT_TABLET)
        apart(level, countdown)
        b = box(level)
        assert b["width"] >= LEVEL_MIN["width"] and b["height"] >= LEVEL_MIN["height"], b
    tablet.screenshot(path=out / "evaluator-portrait.png", animations="disabled")
    tablet.get_by_role("button", name="不满意", exact=True).click()
    expect(tablet.locator("#ev-why")).to_be_visible()
    reasons = tablet.locator("#ev-reasons button")
    for i in range(reasons.count()):
        inside(reasons.nth(i), UPRIGHT_TABLET)
        assert box(reasons.nth(i))["height"] >= 96
    for part in ("#ev-text", "#ev-back", "#ev-submit"):
        inside(tablet.locator(part), UPRIGHT_TABLET)
        apart(tablet.locator(part), countdown)
    tablet.screenshot(path=out / "evaluator-portrait-reason.png", animations="disabled")
    tablet.get_by_role("button", name="等候时间过长").click()
    tablet.get_by_role("button", name="提交评价").click()
    expect(tablet.locator("#ev-thanks")).to_be_visible()


def display_without_sound(browser: Browser, hall: Hall, contexts: list[BrowserContext]) -> Page:
    """The display in a Chromium that refuses sound until a tap (started without the autoplay flag)."""
    context = browser.new_context(viewport=DISPLAY, locale="zh-CN", timezone_id="Asia/Shanghai")
    contexts.append(context)
    context.add_init_script(REFUSE_SOUND_BEFORE_A_TAP)
    page = context.new_page()
    page.goto(hall.url(f"/display#token={hall.live.display_token}"))
    expect(page.locator("#windows .win").first).to_be_visible()
    return page


def unlock_beside_the_lists(browser: Browser, hall: Hall, contexts: list[BrowserContext], out: Path) -> None:
    hall.issue(2)
    display = display_without_sound(browser, hall, contexts)
    expect(display.locator("#waiting li")).not_to_have_count(0)
    hall.call_and_finish()
    unlock = display.get_by_role("button", name="开启声音")
    expect(unlock).to_be_visible()
    expect(display.locator("#caption")).to_be_visible()
    expect(display.locator("#waiting li")).to_contain_text(["居民身份证核发"])
    panel = display.locator("#unlock")
    inside(panel, DISPLAY)
    for part in ("#waiting", "#windows", "#latest", "#recent", "#caption", "#hall-name", "#clock", "#date"):
        apart(panel, display.locator(part))
    assert box(unlock)["height"] >= 80 and box(unlock)["width"] >= 240  # still a large target
    display.screenshot(path=out / "display-sound-panel.png", animations="disabled")

    hall.call_and_finish()  # the last one waiting: nobody waits now, and the caption bar is up
    expect(display.locator("#waiting-empty")).to_be_visible()
    expect(display.locator("#caption")).to_be_visible()
    inside(display.locator("#waiting-empty"), DISPLAY)
    apart(display.locator("#waiting-empty"), display.locator("#caption"))
    apart(display.locator("#waiting-empty"), display.locator(".d-foot"))
    display.screenshot(path=out / "display-nobody-waiting.png", animations="disabled")


# ---------------------------------------------------------------- tests

def test_the_upright_rating_tablet_shows_everything_with_large_targets(
        browser: Browser, hall: Hall, contexts: list[BrowserContext], tmp_path: Path) -> None:
    rate_upright(browser, hall, contexts, tmp_path)


def test_the_displays_sound_panel_and_nobody_waiting_line_cover_nothing_and_are_not_covered(
        browser: Browser, hall: Hall, contexts: list[BrowserContext], tmp_path: Path) -> None:
    unlock_beside_the_lists(browser, hall, contexts, tmp_path)


@pytest.mark.parametrize("viewport", [KIOSK, DISPLAY], ids=["portrait", "landscape"])
def test_the_kiosk_home_shows_every_category_and_its_hint(
        browser: Browser, hall: Hall, contexts: list[BrowserContext], viewport: dict[str, int]) -> None:
    """The 12 categories of the demo hall, the three buttons above them and the hint below: nothing falls off a
    1080×1920 or 1920×1080 kiosk."""
    kiosk = new_page(browser, hall.url(f"/kiosk#token={hall.live.kiosk_token}"), viewport, contexts)
    expect(kiosk.locator("#categories .tile")).to_have_count(12)
    for locator in (kiosk.locator("#categories .tile").last, kiosk.locator("#home .hint"),
                    kiosk.locator("#elder-mode"), kiosk.locator("#guide-open")):
        inside(locator, viewport)


def take_screenshots(out: Path = SHOTS) -> None:
    with tempfile.TemporaryDirectory() as folder:
        live = LiveHall(Path(folder)).prepare()
        ready = Hall(live)
        live.start()
        shoot(live, [lambda b, _, opened, o: rate_upright(b, ready, opened, o),
                     lambda b, _, opened, o: unlock_beside_the_lists(b, ready, opened, o)], out)


if __name__ == "__main__":
    take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
    print("screenshots written")
