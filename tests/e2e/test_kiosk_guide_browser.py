"""办事指南 at the kiosk and 确认取号 (issue 17 point 1, and point 2's "taking a ticket always asks"): headless
Chromium at the kiosk's real sizes against `hallq run` on the demo hall (config.toml).

Screenshots (kiosk-guide-*.png) go to a temporary folder, or to docs/screenshots/ when run as a script:
``.venv/bin/python -m tests.e2e.test_kiosk_guide_browser``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_a11y_browser import assert_accessible
from tests.e2e.test_browser import CHROMIUM, DISPLAY, KIOSK, SHOTS, OpenPage, browser, confirm_ticket, hall, open_page
from tests.live import LiveHall

__all__ = ["browser", "hall", "open_page"]  # the fixtures of test_browser, shared

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

#: the kiosk standing (1080×1920) and lying (1920×1080)
SIZES = {"portrait": KIOSK, "landscape": DISPLAY}


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return SHOTS if os.environ.get("HALLQ_SHOTS") == "1" else tmp_path


def open_kiosk(open_page: OpenPage, hall: LiveHall, size: str) -> Page:
    kiosk = open_page(f"{hall.url}/kiosk#token={hall.kiosk_token}", SIZES[size])
    expect(kiosk.locator("#home")).to_be_visible()
    return kiosk


def in_view(page: Page, selector: str) -> None:
    """Wholly on the screen: a kiosk has no scroll bar a resident would think of using."""
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (selector, box, viewport)


def type_letters(kiosk: Page, letters: str) -> None:
    for letter in letters:
        kiosk.locator(f"#letters [data-letter='{letter}']").click()


def test_a_guide_is_found_by_pinyin_initials_and_takes_a_confirmed_ticket(hall: LiveHall, open_page: OpenPage,
                                                                          size: str, shots: Path) -> None:
    kiosk = open_kiosk(open_page, hall, size)
    # beside 我有预约 and no taller: 办事指南 takes no room from the category tiles
    guide, appointment = (kiosk.locator(s).bounding_box() for s in ("#guide-open", "#appointment-open"))
    assert guide and appointment and guide["y"] == appointment["y"] and guide["height"] <= appointment["height"]
    kiosk.screenshot(path=shots / f"kiosk-guide-home-{size}.png", animations="disabled")
    kiosk.get_by_role("button", name=re.compile("^办事指南")).click()
    expect(kiosk.locator("#guide-search")).to_be_visible()
    expect(kiosk.locator("#guide-search-countdown")).to_contain_text("秒后自动返回首页")
    results = kiosk.locator("#guide-results .guide-result")
    expect(results.first).to_have_text(re.compile("^居民身份证核发"))  # nothing typed: the items in order, 8 shown
    expect(results).to_have_count(8)
    expect(kiosk.locator("#guide-more")).to_have_text("另有 17 项，请继续按字母缩小范围")
    in_view(kiosk, "#guide-results .guide-result >> nth=-1")
    in_view(kiosk, "#guide-search-countdown")
    kiosk.screenshot(path=shots / f"kiosk-guide-start-{size}.png", animations="disabled")
    type_letters(kiosk, "CBJ")  # 参保缴费: a substring of the initials, not their start
    expect(results).to_have_count(2)
    expect(results.nth(0)).to_contain_text("城乡居民养老保险参保缴费")
    kiosk.locator("#letters [data-letter='clear']").click()
    type_letters(kiosk, "SFZX")
    expect(kiosk.locator("#guide-none")).to_be_visible()
    kiosk.locator("#letters [data-letter='back']").click()  # a wrong last letter, taken back
    expect(kiosk.locator("#guide-query")).to_have_text("SFZ")
    expect(results).to_have_count(1)
    in_view(kiosk, "#letters")
    kiosk.screenshot(path=shots / f"kiosk-guide-search-{size}.png", animations="disabled")
    assert_accessible(kiosk, f"kiosk 办事指南, the search ({size})")
    results.first.click()

    expect(kiosk.locator("#guide-item")).to_be_visible()
    expect(kiosk.locator("#guide-name")).to_have_text("居民身份证核发")
    field = lambda name: kiosk.locator(f".guide-field[data-field='{name}'] dd")  # noqa: E731
    expect(field("materials")).to_contain_text("户口簿")
    expect(field("time_limit")).to_have_text("20个工作日（法定60日内）")
    expect(field("fee_basis")).to_contain_text("发改价格〔2003〕2322号")
    expect(field("basis")).to_have_text("《中华人民共和国居民身份证法》")
    expect(field("windows")).to_have_text("1号窗口、6号窗口（一楼）")
    expect(field("phone")).to_have_text("0731-86201110")  # the police station's 户籍室, not the hall's
    expect(field("complaint_phone")).to_have_text("0731-86202300")
    in_view(kiosk, "#guide-take")
    kiosk.screenshot(path=shots / f"kiosk-guide-item-{size}.png", animations="disabled")
    assert_accessible(kiosk, f"kiosk 办事指南, an item's guide ({size})")

    kiosk.get_by_role("button", name="取号", exact=True).click()
    dialog = kiosk.get_by_role("alertdialog")
    expect(dialog).to_contain_text("居民身份证核发")
    kiosk.screenshot(path=shots / f"kiosk-guide-confirm-{size}.png", animations="disabled")
    assert_accessible(kiosk, f"kiosk 办事指南, 确认取号 ({size})")
    dialog.get_by_role("button", name="返回", exact=True).click()  # not this one after all: no ticket
    expect(dialog).to_be_hidden()
    expect(kiosk.locator("#guide-item")).to_be_visible()
    kiosk.get_by_role("button", name="取号", exact=True).click()
    confirm_ticket(kiosk, "居民身份证核发")
    expect(kiosk.locator("#ticket-service")).to_have_text("居民身份证核发")


def test_the_category_of_one_item_asks_before_it_issues(hall: LiveHall, open_page: OpenPage, size: str) -> None:
    """劳动保障 holds only 就（失）业登记: one tap on the category used to issue a ticket at once."""
    kiosk = open_kiosk(open_page, hall, size)
    waiting = kiosk.get_by_role("button", name=re.compile("^劳动保障")).locator(".tile-count")
    before = waiting.inner_text()
    kiosk.get_by_role("button", name=re.compile("^劳动保障")).click()
    dialog = kiosk.get_by_role("alertdialog")
    expect(dialog.locator("#confirm-name")).to_have_text("就（失）业登记")
    dialog.get_by_role("button", name="返回", exact=True).click()
    expect(kiosk.locator("#home")).to_be_visible()
    expect(waiting).to_have_text(before)  # no ticket taken
    kiosk.get_by_role("button", name=re.compile("^劳动保障")).click()
    confirm_ticket(kiosk, "就（失）业登记")


def test_an_items_guide_opens_from_its_tile_without_a_ticket(hall: LiveHall, open_page: OpenPage, size: str,
                                                             shots: Path) -> None:
    kiosk = open_kiosk(open_page, hall, size)
    kiosk.get_by_role("button", name=re.compile("^户籍管理")).click()
    in_view(kiosk, "#items .item-row >> nth=-1")
    kiosk.screenshot(path=shots / f"kiosk-guide-category-{size}.png", animations="disabled")
    kiosk.get_by_role("button", name="查看指南：户口县内迁移").click()
    expect(kiosk.locator("#guide-name")).to_have_text("户口县内迁移")
    expect(kiosk.locator(".guide-field[data-field='basis'] dd")).to_contain_text("户口登记条例")
    expect(kiosk.locator("#guide-item-countdown")).to_contain_text("秒后自动返回首页")
    kiosk.get_by_role("button", name="← 返回").click()  # back to the category it came from
    expect(kiosk.locator("#category")).to_be_visible()
    expect(kiosk.locator("#category-name")).to_have_text("户籍管理")


def test_every_demo_items_guide_fits_the_screen(hall: LiveHall, open_page: OpenPage, size: str) -> None:
    """No scrolling to reach 取号, whichever item: the longest guide of the demo hall fits both kiosk sizes."""
    kiosk = open_kiosk(open_page, hall, size)
    codes = [s["code"] for s in hall.kiosk().get(f"{hall.url}/api/kiosk/guide").json()["services"]]
    assert len(codes) == 25
    for code in codes:
        kiosk.evaluate("code => hallq.kioskGuide.open(code, () => {})", code)
        expect(kiosk.locator("#guide-item")).to_be_visible()
        in_view(kiosk, "#guide-take")
        in_view(kiosk, "#guide-item-countdown")


def test_the_guide_goes_home_by_itself(hall: LiveHall, browser: Browser) -> None:
    """Unattended all day: a guide left open returns to the home page when its countdown ends."""
    context = browser.new_context(viewport=KIOSK, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        context.clock.install()
        kiosk = context.new_page()
        kiosk.goto(f"{hall.url}/kiosk#token={hall.kiosk_token}")
        expect(kiosk.locator("#home")).to_be_visible()
        kiosk.get_by_role("button", name=re.compile("^办事指南")).click()
        kiosk.locator("#guide-results .guide-result").first.click()
        expect(kiosk.locator("#guide-item")).to_be_visible()
        kiosk.clock.run_for(60_000)
        expect(kiosk.locator("#guide-item")).to_be_visible()  # still being read
        kiosk.clock.run_for(31_000)
        expect(kiosk.locator("#home")).to_be_visible()
    finally:
        context.close()


if __name__ == "__main__":
    os.environ["HALLQ_SHOTS"] = "1"
    sys.exit(pytest.main(["-q", __file__, "-k", "confirmed_ticket or from_its_tile"]))
