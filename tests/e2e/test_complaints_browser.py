"""The complaint register (投诉, 机构建设 4.3) in headless Chromium against a real `hallq run`: the guide desk registers
a resident's complaint from the keyboard (Alt+7), the admin answers it, says it was upheld, records that the
resident accepted the answer and closes it; a 不满意 rating becomes a complaint from the 整改 page; the resident's
name and phone never reach the server's log.

Run as a script to refresh the screenshots in docs/screenshots/:

    .venv/bin/python -m tests.e2e.test_complaints_browser
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e import test_browser
from tests.e2e.test_browser import CHROMIUM, SHOTS, new_page, shoot
from tests.live import LiveHall

DESK = {"width": 1600, "height": 1000}
ADMIN = {"width": 1600, "height": 900}
NAME, PHONE = "刘桂芳", "13955556666"
REQUEST = "在1号窗口办理户口迁移时等了很久，工作人员态度生硬，希望中心调查并给个说法"

browser = test_browser.browser  # the same module-scoped headless Chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHall]:
    live = LiveHall(tmp_path_factory.mktemp("complaints")).prepare().start()
    try:
        yield live
    finally:
        live.stop()


def log_in(page: Page, hall: LiveHall, name: str) -> None:
    page.fill("#username", name)
    page.fill("#password", hall.passwords[name])
    page.get_by_role("button", name="登录").click()


# ---------------------------------------------------------------- the steps (the test and the screenshots alike)

def register_at_the_guide_desk(browser: Browser, hall: LiveHall, contexts: list[BrowserContext], out: Path) -> None:
    guide = new_page(browser, f"{hall.url}/guide", DESK, contexts)
    log_in(guide, hall, "guide")
    expect(guide.locator("#desk")).to_be_visible()
    guide.keyboard.press("Alt+7")
    expect(guide.locator("#tab-complaints")).to_be_visible()
    expect(guide.locator("#complaint-due")).to_contain_text("个工作日内")
    guide.locator("#complaint-channel").get_by_label("来访").check()
    guide.locator("#complaint-window").select_option("1")
    guide.locator("#complaint-clerk").select_option("clerk1")
    guide.fill("#complaint-name", NAME)
    guide.fill("#complaint-contact", PHONE)
    guide.locator("#complaint-handler").select_option("admin")
    guide.fill("#complaint-request", REQUEST)
    guide.get_by_role("button", name="登记投诉").click()
    row = guide.locator("#complaint-rows tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(NAME)
    expect(row).to_contain_text(PHONE)
    expect(row).to_contain_text("1号窗口 · clerk1")
    expect(row).to_contain_text("还剩 5 个工作日")
    expect(guide.locator("#complaint-request")).to_have_value("")
    guide.screenshot(path=out / "guide-complaints.png", animations="disabled")


def answer_and_close_as_admin(browser: Browser, hall: LiveHall, contexts: list[BrowserContext], out: Path) -> None:
    admin = new_page(browser, f"{hall.url}/admin/complaints", ADMIN, contexts)
    log_in(admin, hall, "admin")
    expect(admin.locator("#admin-nav")).to_be_visible()
    expect(admin.locator("#admin-nav a[aria-current='page']")).to_have_text("投诉处理")
    row = admin.locator("#complaints tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(NAME)
    expect(row).to_contain_text(REQUEST)
    admin.screenshot(path=out / "admin-complaints.png", animations="disabled")
    row.get_by_role("button", name="答复").click()
    expect(admin.locator("#answer-dialog")).to_be_visible()
    expect(admin.locator("#answer-what")).to_contain_text(REQUEST)
    admin.fill("#answer-text", "经调查核实，当日窗口人员解释不耐心属实，已批评教育并电话致歉。")
    admin.get_by_role("button", name="确认答复").click()
    expect(admin.locator("#answer-error")).to_have_text("请选择投诉是否属实")
    admin.locator("#answer-upheld").get_by_label("属实", exact=True).check()
    admin.screenshot(path=out / "admin-complaint-answer.png", animations="disabled")
    admin.get_by_role("button", name="确认答复").click()
    expect(admin.locator("#answer-dialog")).to_be_hidden()
    expect(row).to_contain_text("按期答复")
    expect(row).to_contain_text("已批评教育")
    row.get_by_role("button", name="办结").click()
    admin.locator("#finish-accepted").get_by_label("接受", exact=True).check()
    admin.get_by_role("button", name="确认办结").click()
    expect(admin.locator("#complaints-empty")).to_be_visible()  # no longer open
    admin.locator("#complaint-filter [data-status='closed']").click()
    expect(row).to_have_count(1)
    expect(row).to_contain_text(re.compile("属实.*接受"))
    expect(row).to_contain_text("已办结")
    admin.screenshot(path=out / "admin-complaints-closed.png", animations="disabled")


def turn_a_poor_rating_into_a_complaint(browser: Browser, hall: LiveHall, contexts: list[BrowserContext],
                                        out: Path) -> None:
    """A resident rates 不满意 from their phone; the admin turns it into a complaint on the 整改 page, once."""
    ticket = hall.kiosk().post(f"{hall.url}/api/tickets", json={"service": "hukou-id"}).json()["ticket"]
    clerk = hall.staff("clerk1", window=1)
    clerk.post(f"{hall.url}/api/windows/1/call-next").raise_for_status()
    clerk.post(f"{hall.url}/api/windows/1/finish").raise_for_status()
    requests.post(f"{ticket['track_url']}/rate", json={"level": "dissatisfied", "reason": "服务态度不好",
                                                       "comment": "问了两遍都不回答"}, timeout=10).raise_for_status()
    followups = new_page(browser, f"{hall.url}/admin/followups", ADMIN, contexts)
    log_in(followups, hall, "admin")
    row = followups.locator("#followups tbody tr")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="转为投诉").click()
    expect(row.get_by_role("link", name=re.compile(r"第 \d+ 号投诉"))).to_be_visible()
    followups.screenshot(path=out / "admin-followups-complaint.png", animations="disabled")
    row.get_by_role("link").click()
    expect(followups.locator("#complaints tbody tr")).to_have_count(1)
    expect(followups.locator("#complaints tbody tr")).to_contain_text(f"评价器（{ticket['number']}）")
    expect(followups.locator("#complaints tbody tr")).to_contain_text("评价不满意；服务态度不好；问了两遍都不回答")


# ---------------------------------------------------------------- the test

def test_the_guide_desk_registers_and_the_admin_answers_and_closes(browser: Browser, hall: LiveHall,
                                                                   tmp_path: Path) -> None:
    contexts: list[BrowserContext] = []
    try:
        register_at_the_guide_desk(browser, hall, contexts, tmp_path)
        answer_and_close_as_admin(browser, hall, contexts, tmp_path)
        turn_a_poor_rating_into_a_complaint(browser, hall, contexts, tmp_path)
    finally:
        for context in contexts:
            context.close()
    log = (hall.instance / "server.log").read_text(encoding="utf-8")
    assert NAME not in log and PHONE not in log and "态度生硬" not in log


def take_screenshots(out: Path = SHOTS) -> None:
    with tempfile.TemporaryDirectory() as folder:
        shoot(LiveHall(Path(folder)).prepare().start(),
              [register_at_the_guide_desk, answer_and_close_as_admin, turn_a_poor_rating_into_a_complaint], out)


if __name__ == "__main__":
    take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
    print("screenshots written")
