"""End to end: the rating tablet, the caller's case-type choice with its printable notice, and /admin/stats, in
headless Chromium against a real `hallq run` (the demo hall: tablet rate-1 at 1号窗口).

Run as a script to refresh their screenshots in docs/screenshots/:

    .venv/bin/python -m tests.e2e.test_evaluation_browser
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

from server.models import ExtendedService
from tests.e2e import test_browser
from tests.e2e.test_browser import CALLER, CHROMIUM, SHOTS, TIMEOUT_MS, launch, log_in_and_sign_in, new_page, wait_until
from tests.live import LiveHall, TabletHall, running

TABLET = {"width": 1280, "height": 800}
ADMIN = {"width": 1440, "height": 1100}
A4 = {"width": 900, "height": 1200}

browser = test_browser.browser  # the same module-scoped headless Chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


class Hall(TabletHall):
    """The live hall with its rating tablet and the staff sessions the steps use."""

    def __init__(self, live: LiveHall):
        super().__init__(live)
        self.clerk: requests.Session | None = None

    def serve(self, service: str = "hukou-id", case: dict[str, Any] | None = None) -> dict[str, Any]:
        """A resident takes a number at the kiosk and clerk1 finishes it at 1号窗口."""
        self.live.kiosk().post(self.url("/api/tickets"), json={"service": service}).raise_for_status()
        if self.clerk is None:
            self.clerk = self.live.staff("clerk1", window=1)
        ticket = self.clerk.post(self.url("/api/windows/1/call-next")).json()["ticket"]
        self.clerk.post(self.url("/api/windows/1/finish"), json=case).raise_for_status()
        return ticket

    def stats(self) -> dict[str, Any]:
        """Today's figures, today being the hall's business date (its time zone, not this machine's)."""
        admin = self.live.staff("admin")
        today = admin.get(self.url("/api/hall/status")).json()["business_date"]
        answer = admin.get(self.url(f"/api/stats?date={today}"))
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    yield from running(Hall(LiveHall(tmp_path_factory.mktemp("rating")).prepare()))


# ---------------------------------------------------------------- the steps (tests and screenshots alike)

def rate_on_the_tablet(browser: Browser, hall: Hall, contexts: list[BrowserContext], out: Path) -> None:
    tablet = new_page(browser, hall.url(f"/rate/1#token={hall.tablet_token}"), TABLET, contexts)
    assert "token" not in tablet.url
    expect(tablet.locator("#ev-idle")).to_be_visible()
    tablet.screenshot(path=out / "evaluator-idle.png", animations="disabled")
    ticket = hall.serve()
    expect(tablet.locator("#ev-ask")).to_be_visible()  # pushed over Socket.IO after the 办结
    expect(tablet.locator("#ev-number")).to_have_text(ticket["number"])
    expect(tablet.locator("#ev-service")).to_have_text("居民身份证核发")
    clerk = hall.live.staff("clerk1").get(hall.url("/api/auth/me")).json()["user"]["name"]
    expect(tablet.locator("#ev-clerk-name")).to_have_text(clerk)
    expect(tablet.locator("#ev-countdown")).to_contain_text("秒后自动结束")
    levels = tablet.locator("#ev-levels button")
    expect(levels).to_have_text(["非常满意", "满意", "基本满意", "不满意", "非常不满意"])
    box = levels.first.bounding_box()
    assert box is not None and box["height"] >= 150 and box["width"] >= 150  # large touch targets
    tablet.screenshot(path=out / "evaluator-prompt.png", animations="disabled")
    tablet.get_by_role("button", name="满意", exact=True).click()
    expect(tablet.locator("#ev-thanks")).to_be_visible()
    expect(tablet.locator("#ev-thanks-level")).to_have_text("您的评价：满意")
    assert hall.stats()["total"]["ratings"]["satisfied"] == 1

    # a poor rating asks for the reason first, and opens a 整改
    hall.serve()
    expect(tablet.locator("#ev-ask")).to_be_visible()
    tablet.get_by_role("button", name="不满意", exact=True).click()
    expect(tablet.locator("#ev-why")).to_be_visible()
    expect(tablet.locator("#ev-submit")).to_be_disabled()
    tablet.get_by_role("button", name="等候时间过长").click()
    tablet.fill("#ev-text", "希望增加窗口")
    tablet.screenshot(path=out / "evaluator-reason.png", animations="disabled")
    tablet.get_by_role("button", name="提交评价").click()
    expect(tablet.locator("#ev-thanks")).to_be_visible()
    assert hall.stats()["total"]["ratings"]["dissatisfied"] == 1
    followups = hall.live.staff("admin").get(hall.url("/api/followups")).json()["followups"]
    assert [(f["reason"], f["comment"]) for f in followups] == [("等候时间过长", "希望增加窗口")]


def finish_as_a_supplement_and_print_the_notice(browser: Browser, hall: Hall, contexts: list[BrowserContext],
                                                 out: Path) -> None:
    promised = hall.serve(case={"case": "promised"})  # clerk1's own open 承诺件: the caller's strip lists it
    assert hall.clerk is not None
    hall.clerk.post(hall.url("/api/windows/1/sign-out")).raise_for_status()
    hall.live.kiosk().post(hall.url("/api/tickets"), json={"service": "hukou-birth"}).raise_for_status()
    caller = new_page(browser, hall.url("/caller"), CALLER, contexts)
    log_in_and_sign_in(caller, "clerk1", hall.live.passwords["clerk1"], 1)
    caller.keyboard.press("F1")
    expect(caller.locator("#current-number")).to_have_text(re.compile(r"^C\d{3}$"))
    number = caller.locator("#current-number").inner_text()
    expect(caller.locator("#case-alerts")).to_be_visible()
    expect(caller.locator("#case-alerts")).to_contain_text("待办：承诺件")
    open_cases = hall.clerk.get(hall.url("/api/cases")).json()["cases"]
    assert promised["id"] in [c["ticket"] for c in open_cases]
    caller.keyboard.press("F9")
    dialog = caller.locator("#case-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".case-type")).to_have_text(["1承诺件", "2补办件", "3退回件", "4报批件"])
    caller.keyboard.press("2")  # 补办件
    expect(dialog.locator("section[data-type='supplement']")).to_be_visible()
    expect(dialog.locator("#case-materials label")).to_have_text(["出生医学证明", "父母双方身份证和户口簿", "结婚证"])
    dialog.get_by_label("出生医学证明").check()
    dialog.get_by_label("结婚证").check()
    caller.fill("#case-more", "出生登记申请表")
    caller.screenshot(path=out / "caller-case-choice.png", animations="disabled")
    dialog.get_by_role("button", name="确认办结").click()
    expect(caller.locator("#result")).to_contain_text(f"{number} 已办结（补办件）")
    with caller.expect_popup() as popup:
        caller.get_by_role("button", name="打印申请材料补正通知书").click()
    notice = popup.value
    notice.set_viewport_size(A4)
    expect(notice.locator("h1")).to_have_text("城关镇便民服务中心1号窗口申请材料补正通知书")
    expect(notice.locator("#materials li")).to_have_text(["出生医学证明", "结婚证", "出生登记申请表"])
    expect(notice.locator("#notice")).to_contain_text(number)
    notice.screenshot(path=out / "notice-supplement.png", full_page=True, animations="disabled")
    # F5 is still one keystroke for 即办件
    hall.live.kiosk().post(hall.url("/api/tickets"), json={"service": "hukou-id"}).raise_for_status()
    caller.keyboard.press("F1")
    expect(caller.locator("#current-status")).to_have_text("已呼叫")
    caller.keyboard.press("F5")
    expect(caller.locator("#result")).to_contain_text("已办结（即办件）")
    expect(caller.locator("#case-dialog")).to_be_hidden()


def admin_stats_render_their_charts(browser: Browser, hall: Hall, contexts: list[BrowserContext], out: Path) -> None:
    page = new_page(browser, hall.url("/admin/stats"), ADMIN, contexts)
    page.fill("#username", "admin")
    page.fill("#password", hall.live.passwords["admin"])
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#tiles .stat-tile")).to_have_count(11)
    wait_until(page, "Object.keys(window.hallqCharts).length >= 4")
    report = hall.stats()
    charts = page.evaluate("""() => Object.fromEntries(Object.entries(window.hallqCharts).map(([id, chart]) =>
        [id, {data: chart.data.datasets[0].data, drawn: (() => {
            const c = chart.canvas; const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let painted = 0; for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
            return painted; })()}]))""")
    assert charts["chart-ratings"]["data"] == [report["total"]["ratings"][level] for level in (
        "very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied", "unrated")]
    assert charts["chart-services"]["data"] == [s["served"] for s in report["by_service"]]
    assert sum(charts["chart-hours"]["data"]) == report["total"]["issued"]
    assert all(chart["drawn"] > 500 for chart in charts.values()), charts  # the canvases are painted
    rate = report["total"]["satisfaction_rate"]
    expect(page.locator("#tiles")).to_contain_text(f"{rate * 100:.2f}%")
    extended = report["extended"]  # 延时服务: days and times (次) apart, as a day may have it at noon and at closing
    expect(page.locator("#tiles")).to_contain_text(f"天 · {extended['sessions']} 次 · 服务 {extended['served']} 人")
    expect(page.locator("#table-window tbody tr")).to_have_count(len(report["by_window"]))
    assert page.locator("#export-xlsx").get_attribute("href", timeout=TIMEOUT_MS).startswith("/api/stats.xlsx?from=")
    page.screenshot(path=out / "admin-stats-today.png", full_page=True, animations="disabled")
    followups = new_page(browser, hall.url("/admin/followups"), ADMIN, contexts)
    followups.context.add_cookies(page.context.cookies())
    followups.reload()
    expect(followups.locator("#followups tbody tr")).to_have_count(1)
    expect(followups.locator("#followups")).to_contain_text("等候时间过长")
    followups.screenshot(path=out / "admin-followups.png", full_page=True, animations="disabled")
    followups.get_by_role("button", name="办结整改").click()
    followups.fill("#close-note", "已与群众电话沟通，高峰时段增开窗口")
    followups.get_by_role("button", name="确认办结").click()
    expect(followups.locator("#followups-empty")).to_be_visible()


# ---------------------------------------------------------------- tests

def test_the_tablet_asks_after_a_finish_and_a_tap_records_the_rating(
        browser: Browser, hall: Hall, contexts: list[BrowserContext], tmp_path: Path) -> None:
    rate_on_the_tablet(browser, hall, contexts, tmp_path)


def test_the_caller_chooses_a_case_type_and_prints_the_notice(
        browser: Browser, hall: Hall, contexts: list[BrowserContext], tmp_path: Path) -> None:
    if hall.clerk is None:
        hall.serve()
    finish_as_a_supplement_and_print_the_notice(browser, hall, contexts, tmp_path)


def test_admin_stats_render_their_charts(browser: Browser, hall: Hall, contexts: list[BrowserContext],
                                         tmp_path: Path) -> None:
    if not hall.stats()["total"]["ratings"]["dissatisfied"]:
        rate_on_the_tablet(browser, hall, contexts, tmp_path)
    admin_stats_render_their_charts(browser, hall, contexts, tmp_path)


def history(live: LiveHall) -> tuple[str, str]:
    """The 30 days before today, as a busy hall would have logged them (the statistics benchmark's data)."""
    from bench.bench_stats import populate
    from server.hall import Hall as OpenHall
    from server.hall import Settings

    hall = OpenHall.open(Settings.resolve(live.config, live.instance))
    try:
        last = hall.engine.today() - timedelta(days=1)
        first = last - timedelta(days=29)
        populate(hall.storage, hall.config, first, 30, 300)
        with hall.storage.write() as session:  # and 延时服务 on the last day, at noon and at closing
            for name, start, end, served in (("上午", time(12), time(12, 18), 3),
                                             ("下午", time(17, 30), time(17, 52), 5)):
                session.add(ExtendedService(
                    business_date=last, session=name, started_at=datetime.combine(last, start, hall.config.timezone),
                    ended_at=datetime.combine(last, end, hall.config.timezone), waiting_at_start=served,
                    served=served, windows=[1], clerks=["clerk1"], anomalies=[]))
    finally:
        hall.storage.dispose()
    return first.isoformat(), last.isoformat()


def take_screenshots(out: Path = SHOTS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        live = LiveHall(Path(folder)).prepare()
        first, last = history(live)
        ready = Hall(live)
        live.start()
        try:
            for service in ("dibao", "pension-pay", "dibao", "pension-pay", "relief"):
                live.kiosk().post(ready.url("/api/tickets"), json={"service": service}).raise_for_status()
            for window, clerk, cases in ((2, "clerk2", ({"case": "promised"}, None, {"case": "approval"})),
                                         (3, "admin", (None, None))):
                session = live.staff(clerk, window=window)
                for case in cases:
                    session.post(ready.url(f"/api/windows/{window}/call-next")).raise_for_status()
                    session.post(ready.url(f"/api/windows/{window}/finish"), json=case).raise_for_status()
            with sync_playwright() as playwright_:
                browser_ = launch(playwright_)
                opened: list[BrowserContext] = []
                try:
                    rate_on_the_tablet(browser_, ready, opened, out)
                    finish_as_a_supplement_and_print_the_notice(browser_, ready, opened, out)
                    admin_stats_render_their_charts(browser_, ready, opened, out)
                    month = opened[-1].new_page()
                    month.set_viewport_size(ADMIN)
                    month.goto(ready.url(f"/admin/stats?from={first}&to={last}"))
                    expect(month.locator("#days-figure")).to_be_visible()
                    wait_until(month, "Object.keys(window.hallqCharts).length === 5")
                    month.screenshot(path=out / "admin-stats.png", full_page=True, animations="disabled")
                finally:
                    browser_.close()
        finally:
            live.stop()


if __name__ == "__main__":
    take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
    print("screenshots written")

