"""Appointments as people in the hall see them, in headless Chromium against a real `hallq run`: the resident checks
in at the kiosk on its keypad, a late resident is offered a normal ticket, the guide desk registers with the item's
一次性告知 in view and prints the day's 登记表, the clerk sees 预约 and a masked name.

Screenshots go to docs/screenshots/ when run as a script: ``.venv/bin/python -m tests.e2e.test_guide_browser``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from server.appointments import Booking
from server.clock import ManualClock
from server.hall import Hall, Settings
from tests.e2e.test_browser import (
    CALLER,
    CHROMIUM,
    KIOSK,
    ROOT,
    SHOTS,
    TIMEOUT_MS,
    confirm_ticket,
    launch,
    log_in_and_sign_in,
    new_page,
)
from tests.live import LiveHall

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

DESK = {"width": 1600, "height": 1000}
A4_LANDSCAPE = {"width": 1123, "height": 794}  # 297 × 210 mm at 96 dpi
NAME, PHONE = "张小三", "13812341234"


def now_in_hall() -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai"))


def round_the_clock(folder: Path) -> Path:
    """The demo hall with an appointment slot every hour of every day and a 4-hour check-in window, so that
    whenever the tests run there is a slot to check in to now."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    start, end = text.index("[appointments]"), text.index("# Opening hours")
    slots = "".join(f'\n[[appointments.slots]]\nstart = "{hour:02d}:00"\nend = "{hour:02d}:59"\ncapacity = 9\n'
                    f"days = [1, 2, 3, 4, 5, 6, 7]\n" for hour in range(24))
    config = folder / "hall.toml"
    config.write_text(text[:start] + "[appointments]\ncheck_in_before_minutes = 240\nforfeit_after_minutes = 240\n"
                      + slots + "\n" + text[end:], encoding="utf-8")
    return config


def book(live: LiveHall, day: date, hour: int, phone: str, name: str = NAME, service: str = "hukou-id",
         **more: str) -> str:
    """An appointment booked in-process as if a minute before its slot (the past may be booked that way); its code."""
    start = datetime.combine(day, time(hour), now_in_hall().tzinfo)
    hall = Hall.open(Settings.resolve(live.config, live.instance, live.database_url,
                                      clock=ManualClock(start - timedelta(minutes=1))))
    try:
        return hall.appointments.book(Booking(service=service, day=day, slot=f"{hour:02d}:00", kind="window",
                                              channel=more.get("channel", "phone"), name=name, phone=phone,
                                              notes=more.get("notes", "")), "guide").code
    finally:
        hall.storage.dispose()


def type_on_keypad(kiosk: Page, digits: str) -> None:
    for digit in digits:
        kiosk.locator(f"#keypad [data-key='{digit}']").click()


class AppointmentHall:
    def __init__(self, folder: Path, browser: Browser, config: Path | None = None):
        folder.mkdir(parents=True, exist_ok=True)
        self.hall = LiveHall(folder / "instance", config=config or round_the_clock(folder)).prepare().start()
        self.browser = browser
        self.contexts: list[BrowserContext] = []

    def page(self, path: str, viewport: dict[str, int]) -> Page:
        return new_page(self.browser, f"{self.hall.url}{path}", viewport, self.contexts)

    def kiosk(self) -> Page:
        kiosk = self.page(f"/kiosk#token={self.hall.kiosk_token}", KIOSK)
        expect(kiosk.locator("#home")).to_be_visible()
        return kiosk

    def guide(self, viewport: dict[str, int] = DESK) -> Page:
        guide = self.page("/guide", viewport)
        guide.fill("#username", "guide")
        guide.fill("#password", self.hall.passwords["guide"])
        guide.get_by_role("button", name="登录").click()
        expect(guide.locator("#desk")).to_be_visible()
        return guide

    def close_pages(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()

    def close(self) -> None:
        self.close_pages()
        self.hall.stop()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppointmentHall]:
    with sync_playwright() as playwright_:
        browser = launch(playwright_)
        hall = AppointmentHall(tmp_path_factory.mktemp("appointments"), browser)
        try:
            yield hall
        finally:
            hall.close()
            browser.close()


@pytest.fixture(autouse=True)
def _expect_timeout() -> None:
    expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(autouse=True)
def _pages_closed_after_each_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """The module's hall holds only so many connections of one address: each test's pages go with it."""
    yield
    if "setup" in request.fixturenames:
        request.getfixturevalue("setup").close_pages()


# ---------------------------------------------------------------- the kiosk

def test_a_resident_checks_in_on_the_keypad_and_gets_a_ticket_tagged_appointment(setup: AppointmentHall) -> None:
    now = now_in_hall()
    code = book(setup.hall, now.date(), now.hour, PHONE)
    kiosk = setup.kiosk()
    kiosk.get_by_role("button", name=re.compile("^我有预约")).click()
    expect(kiosk.locator("#appointment")).to_be_visible()
    expect(kiosk.locator("#entry-prompt")).to_contain_text("6 位预约码")
    type_on_keypad(kiosk, code[:5] + "9")
    kiosk.locator("#keypad [data-key='back']").click()  # a wrong last digit, taken back
    expect(kiosk.get_by_role("button", name="确定签到")).to_be_disabled()
    type_on_keypad(kiosk, code[5])
    expect(kiosk.locator("#entry")).to_have_attribute("data-value", code)
    kiosk.get_by_role("button", name="确定签到").click()
    expect(kiosk.locator("#ticket")).to_be_visible()
    expect(kiosk.locator("#ticket-tag")).to_have_text("预约")
    expect(kiosk.locator("#ticket-number")).to_have_text(re.compile(r"^A\d{3}$"))
    expect(kiosk.locator("#ticket-ahead")).to_have_text("0")
    expect(kiosk.locator("#ticket-service")).to_have_text("居民身份证核发")
    expect(kiosk.locator("#ticket-print")).to_have_text(re.compile("正在打印|请取走号票"))  # the kiosk's print flow
    log = (setup.hall.instance / "server.log").read_text(encoding="utf-8")
    assert NAME not in log and PHONE not in log


def test_a_late_resident_is_told_and_takes_a_normal_ticket_once_confirmed(setup: AppointmentHall) -> None:
    two_days_ago = now_in_hall().date() - timedelta(days=2)
    code = book(setup.hall, two_days_ago, 10, "13900000002")
    kiosk = setup.kiosk()
    kiosk.get_by_role("button", name=re.compile("^我有预约")).click()
    type_on_keypad(kiosk, code)
    kiosk.get_by_role("button", name="确定签到").click()
    expect(kiosk.locator("#kiosk-error-text")).to_contain_text("预约已失效（视为放弃）")
    offer = kiosk.get_by_role("button", name="取普通号：居民身份证核发")
    offer.click()
    confirm_ticket(kiosk, "居民身份证核发")  # every ticket asks first (issue 17), this one too
    expect(kiosk.locator("#ticket-tag")).to_be_hidden()
    expect(kiosk.locator("#ticket-service")).to_have_text("居民身份证核发")


def test_an_unknown_code_and_an_unknown_phone_are_said_plainly(setup: AppointmentHall) -> None:
    kiosk = setup.kiosk()
    kiosk.get_by_role("button", name=re.compile("^我有预约")).click()
    type_on_keypad(kiosk, "000001")
    kiosk.get_by_role("button", name="确定签到").click()
    expect(kiosk.locator("#kiosk-error-text")).to_contain_text("没有找到这个预约码")
    expect(kiosk.locator("#kiosk-error-offer")).to_be_hidden()
    kiosk.get_by_role("button", name="知道了").click()
    kiosk.get_by_role("tab", name="手机号").click()
    expect(kiosk.locator("#entry .entry-box")).to_have_count(11)
    type_on_keypad(kiosk, "13999999999")
    kiosk.get_by_role("button", name="确定签到").click()
    expect(kiosk.locator("#kiosk-error-text")).to_contain_text("没有找到这个手机号现在可以签到的预约")


# ---------------------------------------------------------------- the guide desk and the clerk

def test_the_guide_desk_registers_reading_the_one_time_notice_and_prints_the_register(setup: AppointmentHall) -> None:
    guide = setup.guide()
    guide.locator("#book-service").select_option("disability")
    expect(guide.locator("#guide-service")).to_contain_text("残疾证办理")
    expect(guide.locator("#guide-materials")).to_contain_text("二寸免冠彩色照片3张")
    expect(guide.locator("#guide-fees")).to_contain_text("免费")
    tomorrow = (now_in_hall().date() + timedelta(days=1)).isoformat()
    guide.locator("#book-date").fill(tomorrow)
    guide.locator("#book-date").dispatch_event("change")
    guide.locator("#book-slots [data-slot='09:00']").click()
    expect(guide.locator("#book-slots [data-slot='09:00']")).to_have_attribute("aria-checked", "true")
    guide.fill("#book-name", "李秀英")
    guide.fill("#book-phone", "13700001111")
    guide.fill("#book-id", "20001x")
    guide.get_by_role("button", name="登记预约").click()
    code = guide.locator("#booked-code")
    expect(code).to_have_text(re.compile(r"^\d{6}$"))
    expect(guide.locator("#book-result")).to_contain_text("李秀英")
    booked = code.inner_text()

    guide.keyboard.press("Alt+2")
    guide.locator("#day-date").fill(tomorrow)
    guide.locator("#day-date").dispatch_event("change")
    row = guide.locator("#day-rows tr", has_text=booked)
    expect(row).to_contain_text("13700001111")
    expect(row).to_contain_text("已预约")
    register = setup.page(f"/guide/register?date={tomorrow}", A4_LANDSCAPE)
    expect(register.locator(".register-refusal")).to_contain_text("只有导询台和管理员")  # another browser: no login
    same_login = guide.context.new_page()
    same_login.goto(f"{setup.hall.url}/guide/register?date={tomorrow}")
    expect(same_login.locator(".register-table tbody tr", has_text=booked)).to_contain_text("20001X")
    printed = same_login.pdf(prefer_css_page_size=True)  # what 打印 gives: one A4 landscape sheet
    assert len(re.findall(rb"/Type\s*/Page\b", printed)) == 1
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)", printed)
    assert box and (round(float(box[1])), round(float(box[2]))) == (842, 595), box  # 297 × 210 mm in points

    row.get_by_role("button", name="不予预约").click()
    guide.locator("#close-note").fill("已电话告知")
    guide.locator("#close-submit").click()
    expect(row).to_contain_text("不予预约")


def test_the_clerk_sees_appointment_and_a_masked_name(setup: AppointmentHall) -> None:
    now = now_in_hall()
    code = book(setup.hall, now.date(), now.hour, "13900000005", name="王建国", service="dibao")
    setup.hall.kiosk().post(f"{setup.hall.url}/api/appointments/check-in", json={"code": code}).raise_for_status()
    caller = setup.page("/caller", CALLER)
    log_in_and_sign_in(caller, "clerk2", setup.hall.passwords["clerk2"], 2)
    caller.keyboard.press("F1")
    expect(caller.locator("#current-tag")).to_be_visible()
    expect(caller.locator("#current-appointment")).to_contain_text("王*国 · 139****0005")
    assert "王建国" not in caller.content()


# ---------------------------------------------------------------- screenshots for docs/screens.md

def take_screenshots(out: Path = SHOTS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright_:
        browser = launch(playwright_)
        try:
            desk_screens(AppointmentHall(Path(folder) / "desk", browser, ROOT / "config.toml"), out)
            kiosk_screens(AppointmentHall(Path(folder) / "kiosk", browser), out)
        finally:
            browser.close()


def next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def desk_screens(setup: AppointmentHall, out: Path) -> None:
    """The demo hall: a day with appointments, the desk registering one more, the day's 登记表."""
    try:
        day = next_weekday(now_in_hall().date())
        for hour, phone, name, service, channel, notes in (
                (9, "13812341234", "张小三", "hukou-id", "phone", "首次申领，监护人陪同"),
                (9, "13600002222", "刘桂兰", "elder-card", "letter", ""),
                (10, "13500003333", "陈志强", "dibao", "phone", "行动不便，女儿陪同"),
                (11, "13400004444", "赵丽", "pension-enrol", "desk", "")):
            book(setup.hall, day, hour, phone, name=name, service=service, channel=channel, notes=notes)
        guide = setup.guide()
        guide.locator("#book-service").select_option("disability")
        guide.locator("#book-date").fill(day.isoformat())
        guide.locator("#book-date").dispatch_event("change")
        guide.locator("#book-slots [data-slot='10:00']").click()
        guide.fill("#book-name", "李秀英")
        guide.fill("#book-phone", "13700001111")
        guide.fill("#book-id", "20001X")
        guide.fill("#book-notes", "腿脚不便，请窗口提前准备")
        guide.screenshot(path=out / "guide-book.png", animations="disabled")
        guide.get_by_role("button", name="登记预约").click()
        expect(guide.locator("#booked-code")).to_have_text(re.compile(r"^\d{6}$"))
        guide.screenshot(path=out / "guide-booked.png", animations="disabled")
        guide.keyboard.press("Alt+2")
        guide.locator("#day-date").fill(day.isoformat())
        guide.locator("#day-date").dispatch_event("change")
        expect(guide.locator("#day-rows tr")).to_have_count(5)
        guide.screenshot(path=out / "guide-day.png", animations="disabled")
        register = guide.context.new_page()
        register.set_viewport_size({"width": 1280, "height": 960})
        register.goto(f"{setup.hall.url}/guide/register?date={day.isoformat()}")
        register.screenshot(path=out / "guide-register.png", full_page=True)
    finally:
        setup.close()


def kiosk_screens(setup: AppointmentHall, out: Path) -> None:
    try:
        now = now_in_hall()
        code = book(setup.hall, now.date(), now.hour, PHONE)
        late = book(setup.hall, now.date() - timedelta(days=2), 10, "13900000002")
        for _ in range(3):
            setup.hall.kiosk().post(f"{setup.hall.url}/api/tickets", json={"service": "hukou-id"}).raise_for_status()
        kiosk = setup.kiosk()
        kiosk.get_by_role("button", name=re.compile("^我有预约")).click()
        type_on_keypad(kiosk, code[:4])
        kiosk.screenshot(path=out / "kiosk-appointment.png", animations="disabled")
        type_on_keypad(kiosk, code[4:])
        kiosk.get_by_role("button", name="确定签到").click()
        expect(kiosk.locator("#ticket-tag")).to_be_visible()
        expect(kiosk.get_by_role("button", name="完成")).to_be_enabled()
        kiosk.screenshot(path=out / "kiosk-appointment-ticket.png", animations="disabled")
        kiosk.get_by_role("button", name="完成").click()
        kiosk.get_by_role("button", name=re.compile("^我有预约")).click()
        type_on_keypad(kiosk, late)
        kiosk.get_by_role("button", name="确定签到").click()
        expect(kiosk.locator("#kiosk-error-offer")).to_be_visible()
        kiosk.screenshot(path=out / "kiosk-appointment-forfeited.png", animations="disabled")
        caller = setup.page("/caller", CALLER)
        log_in_and_sign_in(caller, "clerk1", setup.hall.passwords["clerk1"], 1)
        caller.keyboard.press("F1")
        expect(caller.locator("#current-appointment")).to_be_visible()
        caller.screenshot(path=out / "caller-appointment.png", animations="disabled")
    finally:
        setup.close()


if __name__ == "__main__":
    take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
    print(f"screenshots written to {SHOTS if len(sys.argv) < 2 else sys.argv[1]}")
