"""The guide desk's rough edges (issue 17 point 6), in headless Chromium against a real `hallq run` of a hall whose
desk has no printer: a number lookup shows no 「null」 and offers no 补打 it cannot do, a failed booking takes the
previous resident's 预约码 off the screen, a long name is said to be too long instead of cut, and short words in
the tables stay on one line. And 党员服务岗 (point 7): the hall TV's tile and the window screen show the mark, the
window screen the 党员 badge of the clerk signed in.

Screenshots go to docs/screenshots/ when run as a script: ``.venv/bin/python -m tests.e2e.test_desk_browser``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.test_browser import CHROMIUM, DISPLAY, SHOTS, TIMEOUT_MS, launch
from tests.e2e.test_guide_browser import AppointmentHall, now_in_hall

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

#: the screen above a window
WINDOW_SCREEN = {"width": 1280, "height": 400}
#: a narrow desk PC: the tables' columns are squeezed
NARROW_DESK = {"width": 1280, "height": 900}
LONG_NAME = "阿卜杜热合曼·买买提依明·艾力克木·阿卜杜拉·吐尔逊托合提·库尔班江"  # 34 characters


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppointmentHall]:
    with sync_playwright() as playwright_:
        browser = launch(playwright_)
        hall = AppointmentHall(tmp_path_factory.mktemp("desk"), browser)
        try:
            yield hall
        finally:
            hall.close()
            browser.close()


@pytest.fixture(autouse=True)
def _expect_timeout() -> None:
    expect.set_options(timeout=TIMEOUT_MS)


def look_up(guide: Page, number: str) -> None:
    guide.keyboard.press("Alt+3")
    guide.fill("#lookup-number", number)
    guide.locator("#lookup-form").get_by_role("button").click()
    expect(guide.locator("#ticket-result")).to_be_visible()


def choose_slot_tomorrow(guide: Page, hour: int) -> None:
    tomorrow = (now_in_hall().date() + timedelta(days=1)).isoformat()
    guide.locator("#book-date").fill(tomorrow)
    guide.locator("#book-date").dispatch_event("change")
    guide.locator(f"#book-slots [data-slot='{hour:02d}:00']").click()


def test_a_lookup_says_no_null_and_offers_what_a_desk_without_printer_can_do(desk: AppointmentHall) -> None:
    desk.hall.kiosk().post(f"{desk.hall.url}/api/tickets", json={"service": "hukou-id"}).raise_for_status()
    guide = desk.guide()
    look_up(guide, "A001")
    result = guide.locator("#ticket-result")
    expect(result).to_contain_text("A001")
    expect(result).not_to_contain_text("null")
    expect(result.get_by_role("button", name="补打号票")).to_have_count(0)
    expect(guide.locator("#no-reprint")).to_have_text(re.compile("不能补打：请把号码「A001」.*写在纸上交给群众"))


def test_a_failed_booking_takes_the_previous_code_off_the_screen(desk: AppointmentHall) -> None:
    guide = desk.guide()
    choose_slot_tomorrow(guide, 9)
    guide.fill("#book-name", "李秀英")
    guide.fill("#book-phone", "13700001111")
    guide.get_by_role("button", name="登记预约").click()
    expect(guide.locator("#booked-code")).to_have_text(re.compile(r"^\d{6}$"))
    choose_slot_tomorrow(guide, 10)
    guide.fill("#book-name", "王大爷")
    guide.fill("#book-phone", "1370000")  # the server refuses it
    guide.get_by_role("button", name="登记预约").click()
    expect(guide.locator("#book-error")).to_contain_text("联系电话")
    expect(guide.locator("#book-result")).to_be_hidden()
    expect(guide.locator("#booked-code")).to_have_count(0)
    guide.get_by_role("button", name="登记预约").click()  # no slot chosen any more: refused in the page, same rule
    expect(guide.locator("#book-result")).to_be_hidden()


def test_a_long_name_is_said_to_be_too_long_not_cut(desk: AppointmentHall) -> None:
    guide = desk.guide()
    choose_slot_tomorrow(guide, 11)
    guide.fill("#book-name", LONG_NAME)
    guide.fill("#book-phone", "13700002222")
    expect(guide.locator("#book-name")).to_have_value(LONG_NAME)  # all of it: nothing cut
    expect(guide.locator("#book-name-count")).to_have_text(f"最多 32 字，现在 {len(LONG_NAME)} 字，请删减")
    guide.get_by_role("button", name="登记预约").click()
    expect(guide.locator("#book-result")).to_be_hidden()  # the form does not go
    guide.fill("#book-name", LONG_NAME[:30])
    expect(guide.locator("#book-name-count")).to_have_text("30/32 字")
    guide.fill("#book-name", "")
    expect(guide.locator("#book-name-count")).to_have_text("")
    guide.keyboard.press("Alt+6")
    guide.fill("#enquiry-who", LONG_NAME)
    expect(guide.locator("#enquiry-who-count")).to_contain_text("最多 32 字")


def test_short_words_in_the_desk_tables_stay_on_one_line(desk: AppointmentHall) -> None:
    guide = desk.guide(NARROW_DESK)
    guide.keyboard.press("Alt+6")
    subject = "咨询残疾证办理需要哪些材料、多长时间能办好、能不能由家属代办、要不要本人到场"
    answer = "已一次性告知所需材料：身份证、户口簿、二寸免冠彩色照片3张、医院诊断证明"
    for n in range(2):
        guide.fill("#enquiry-subject", subject * 2)
        guide.fill("#enquiry-answer", answer * 2)
        guide.fill("#enquiry-referred", "2号窗口")
        guide.locator("#enquiry-form").get_by_role("button", name="登记").click()
        expect(guide.locator("#enquiry-rows tr")).to_have_count(n + 1)
    row = guide.locator("#enquiry-rows tr").first
    channel, author = row.locator("td").nth(1), row.locator("td").nth(7)
    expect(channel).to_have_text("来电")
    expect(author).to_have_text("guide")
    for cell in (channel, author, row.locator("td").nth(0)):
        expect(cell).to_have_css("white-space", "nowrap")
        box = cell.bounding_box()
        assert box and box["width"] >= 2 * 17, box  # two characters of 17 px side by side, not one above the other


# ---------------------------------------------------------------- 党员服务岗 (issue 17 point 7)

def party_screens(desk: AppointmentHall) -> tuple[Page, Page]:
    """The demo hall's windows 5 and 6 are 党员服务岗 (config.toml); clerk1, marked 党员 by the admin, signs in to 6."""
    admin = desk.hall.staff("admin")
    admin.patch(f"{desk.hall.url}/api/staff/clerk1", json={"party_member": True}).raise_for_status()
    display = desk.page(f"/display#token={desk.hall.display_token}", DISPLAY)
    screen = desk.page(f"/window/6#token={desk.hall.display_token}", WINDOW_SCREEN)
    expect(screen.locator("#ws-name")).to_have_text("6号窗口")
    return display, screen


def test_a_party_post_and_a_party_member_are_marked_on_the_tv_and_the_window_screen(desk: AppointmentHall) -> None:
    display, screen = party_screens(desk)
    expect(display.locator("[data-window='6'] .party-badge")).to_have_text("党员服务岗")
    expect(display.locator("[data-window='5'] .party-badge")).to_have_text("党员服务岗")
    tile, mark = (display.locator(f"[data-window='6']{part}").bounding_box() for part in ("", " .party-badge"))
    assert tile and mark and tile["x"] <= mark["x"] and mark["x"] + mark["width"] <= tile["x"] + tile["width"]
    expect(display.locator("[data-window='1'] .win-name")).to_be_visible()
    expect(display.locator("[data-window='1'] .party-badge")).to_have_count(0)
    badge = screen.locator("#ws-party-post")
    expect(badge).to_have_text("党员服务岗")
    expect(badge).to_be_visible()
    expect(badge).to_have_css("background-color", "rgb(168, 20, 27)")
    expect(screen.locator("#ws-clerk-party")).to_be_hidden()  # nobody signed in yet
    desk.hall.staff("clerk1", 6)
    expect(screen.locator("#ws-clerk-name")).to_have_text("clerk1")
    expect(screen.locator("#ws-clerk-party")).to_have_text("党员")
    expect(screen.locator("#ws-clerk-party")).to_be_visible()
    other = desk.page(f"/window/1#token={desk.hall.display_token}", WINDOW_SCREEN)
    expect(other.locator("#ws-name")).to_have_text("1号窗口")
    expect(other.locator("#ws-party-post")).to_be_hidden()


# ---------------------------------------------------------------- screenshots for docs/screens.md

def take_screenshots(out: Path = SHOTS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright_:
        browser = launch(playwright_)
        hall = AppointmentHall(Path(folder) / "desk", browser)
        try:
            hall.hall.kiosk().post(f"{hall.hall.url}/api/tickets", json={"service": "hukou-id"}).raise_for_status()
            guide = hall.guide()
            look_up(guide, "A001")
            guide.screenshot(path=out / "guide-lookup-no-printer.png", animations="disabled")
            guide.keyboard.press("Alt+1")
            choose_slot_tomorrow(guide, 9)
            guide.fill("#book-name", LONG_NAME)
            guide.fill("#book-phone", "13700002222")
            guide.screenshot(path=out / "guide-long-name.png", animations="disabled")
            display, screen = party_screens(hall)
            hall.hall.staff("clerk1", 6)
            expect(screen.locator("#ws-clerk-party")).to_be_visible()
            screen.screenshot(path=out / "window-screen-party.png", animations="disabled")
            expect(display.locator("[data-window='6'] .party-badge")).to_be_visible()
            display.screenshot(path=out / "display-party-post.png", animations="disabled")
        finally:
            hall.close()
            browser.close()


if __name__ == "__main__":
    take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
    print(f"screenshots written to {SHOTS if len(sys.argv) < 2 else sys.argv[1]}")
