"""End to end: the caller's case dialogs in headless Chromium against a real `hallq run` (the demo hall with a
监督投诉电话): a 承诺件 finished with a date past the item's 承诺时限 and its reason, its 一式四联 notice, a 报批件,
and the 我的办件 dialog marking 审核, 决定, 送达 and the 报批件's 上报 and 批复到达.

Run as a script to refresh the screenshots in docs/screenshots/:

    .venv/bin/python -m tests.e2e.test_cases_browser
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e import test_browser
from tests.e2e.test_browser import CALLER, CHROMIUM, SHOTS, log_in_and_sign_in, new_page, shoot
from tests.live import ROOT, LiveHall

A4 = {"width": 900, "height": 1200}
PHONE = "0571-8765 4321"

browser = test_browser.browser  # the same module-scoped headless Chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def live_hall(folder: Path) -> LiveHall:
    """The demo hall (config.toml: 居民身份证核发 promised in 20 working days) with a 投诉电话."""
    config = folder / "with-phone.toml"
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^complaint_phone = .*$', f'complaint_phone = "{PHONE}"', text, count=1)
    config.write_text(text, encoding="utf-8")
    return LiveHall(folder / "instance", config=config).prepare()


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHall]:
    live = live_hall(tmp_path_factory.mktemp("cases"))
    live.start()
    try:
        yield live
    finally:
        live.stop()


def call(live: LiveHall, caller: Page, service: str = "hukou-id") -> str:
    live.kiosk().post(f"{live.url}/api/tickets", json={"service": service}).raise_for_status()
    caller.keyboard.press("F1")
    expect(caller.locator("#current-status")).to_have_text("已呼叫")
    expect(caller.locator("[data-action='finish-case']")).to_be_enabled()  # F9 does nothing while a call is busy
    return caller.locator("#current-number").inner_text()


def choose(caller: Page, key: str, kind: str) -> None:
    """F9, then the case type's key once the dialog is there."""
    caller.keyboard.press("F9")
    expect(caller.locator("section[data-type='promised']")).to_be_visible()
    caller.keyboard.press(key)
    expect(caller.locator(f"section[data-type='{kind}']")).to_be_visible()


def handle_cases_in_the_caller(browser: Browser, live: LiveHall, contexts: list[BrowserContext], out: Path) -> None:
    caller = new_page(browser, f"{live.url}/caller", CALLER, contexts)
    log_in_and_sign_in(caller, "clerk1", live.passwords["clerk1"], 1)
    number = call(live, caller)
    caller.keyboard.press("F9")
    dialog = caller.locator("#case-dialog")
    expect(dialog.locator("section[data-type='promised']")).to_be_visible()
    expect(dialog.locator("#case-promised-hint")).to_contain_text("本事项承诺时限 20 个工作日")
    limit = dialog.locator("#case-promised-due").input_value()
    expect(dialog.locator("#case-extension")).to_be_hidden()
    later = f"{int(limit[:4]) + (limit[5:7] == '12')}-{int(limit[5:7]) % 12 + 1:02d}-{min(int(limit[8:]), 28):02d}"
    dialog.locator("#case-promised-due").fill(later)
    expect(dialog.locator("#case-extension")).to_be_visible()
    dialog.get_by_role("button", name="确认办结").click()
    expect(dialog.locator("#case-error")).to_have_text("请写明延期理由")
    caller.fill("#case-extension-reason", "需县公安局户政科会签")
    caller.screenshot(path=out / "caller-case-extension.png", animations="disabled")
    dialog.get_by_role("button", name="确认办结").click()
    expect(caller.locator("#result")).to_contain_text(f"{number} 已办结（承诺件）")
    with caller.expect_popup() as popup:
        caller.get_by_role("button", name="打印承诺件受理通知书").click()
    notice = popup.value
    notice.set_viewport_size(A4)
    expect(notice.locator("h1")).to_have_text("城关镇便民服务中心1号窗口承诺件受理通知书")
    expect(notice.locator("#due")).to_have_text(
        f"{later[:4]}年{int(later[5:7])}月{int(later[8:])}日前")
    expect(notice.locator("#copies")).to_have_text("本通知书一式四联：第一联存窗口，第二联报中心管理人员，"
                                                   "第三联报主管部门领导，第四联交服务对象。")
    expect(notice.locator("#complaint-phone")).to_have_text(f"监督投诉电话：{PHONE}")
    notice.screenshot(path=out / "notice-promised.png", full_page=True, animations="disabled")
    notice.close()

    approval = call(live, caller, "hukou-move")
    choose(caller, "4", "approval")  # 报批件
    expect(dialog.locator("#case-approval-hint")).to_contain_text("上报时限")
    expect(dialog.locator("#case-approval-hint")).to_contain_text("收到上级批复后 2 个工作日内答复服务对象")
    dialog.get_by_role("button", name="确认办结").click()
    expect(caller.locator("#result")).to_contain_text(f"{approval} 已办结（报批件）")
    expect(caller.locator("#case-alerts")).to_contain_text("待办：承诺件 1 件、补办件 0 件、报批件 1 件")

    # 我的办件: each case's time points, the next one a button away (by keyboard too)
    caller.get_by_role("button", name="我的办件").click()
    cases = caller.locator("#cases-dialog")
    expect(cases).to_be_visible()
    promised = cases.locator(".case-card").filter(has_text=number)
    forwarded = cases.locator(".case-card").filter(has_text=approval)
    expect(promised.locator(".case-step-name")).to_have_text(["受理", "审核", "决定", "送达"])
    expect(promised).to_contain_text("延期 1 次：需县公安局户政科会签")
    expect(forwarded.locator(".case-step-name")).to_have_text(["受理", "审核", "上报", "批复到达", "送达"])
    promised.get_by_role("button", name="标记审核").click()
    expect(promised.locator(".case-step.done")).to_have_count(2)
    promised.get_by_role("button", name="标记决定").focus()
    caller.keyboard.press("Enter")
    expect(promised.locator(".case-step.done")).to_have_count(3)
    expect(promised.locator(".case-step.done .case-step-at").nth(2)).to_contain_text("clerk1")
    for step in ("审核", "上报", "批复到达"):
        forwarded.get_by_role("button", name=f"标记{step}").click()
        expect(forwarded.locator(".case-step.done .case-step-name").last).to_have_text(step)
    expect(forwarded).to_contain_text("答复期限")
    expect(forwarded.get_by_role("button", name="标记送达")).to_be_visible()
    cases.screenshot(path=out / "caller-case-steps.png", animations="disabled")
    promised.get_by_role("button", name="标记送达").click()
    expect(cases.locator(".case-card")).to_have_count(1)  # delivered: nothing left to do
    clerk = live.staff("clerk1")
    [left] = clerk.get(f"{live.url}/api/cases").json()["cases"]
    assert (left["number"], left["next_step"], left["answer_due"] is not None) == (approval, "delivered", True)
    done = clerk.get(f"{live.url}/api/cases/{left['id'] - 1}").json()["case"]
    assert (done["open"], done["extensions"], [s["by"] for s in done["steps"]]) == (
        False, 1, ["clerk1"] * 4)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", done["limit_due"]) and done["due"] == later
    cases.get_by_role("button", name="关闭").click()

    # a 补办件 waits for 补齐; a 退回件's resident asks for 复核, and is answered
    supplement = call(live, caller, "hukou-birth")
    choose(caller, "2", "supplement")
    dialog.get_by_label("出生医学证明").check()
    dialog.get_by_role("button", name="确认办结").click()
    expect(caller.locator("#result")).to_contain_text(f"{supplement} 已办结（补办件）")
    returned = call(live, caller, "hukou-birth")
    choose(caller, "3", "returned")
    dialog.locator("#case-reasons input").first.check()
    dialog.get_by_role("button", name="确认办结").click()
    expect(caller.locator("#result")).to_contain_text(f"{returned} 已办结（退回件）")
    caller.get_by_role("button", name="我的办件").click()
    waiting = cases.locator(".case-card").filter(has_text=supplement)
    expect(waiting.locator(".case-step-name")).to_have_text(["受理", "补齐", "审核", "决定", "送达"])
    waiting.get_by_role("button", name="标记补齐").click()
    expect(waiting).to_contain_text("承诺办结")  # the 承诺时限 counts from 补齐
    expect(waiting.get_by_role("button", name="标记审核")).to_be_visible()
    row = cases.locator("#cases-returned li").filter(has_text=returned)
    row.get_by_role("button", name="申请复核").click()
    review = cases.locator(".case-card").filter(has_text=returned)
    expect(review).to_contain_text("复核答复期限")
    expect(review.locator(".case-step-name")).to_have_text(["受理", "审核", "决定", "送达", "申请复核", "复核答复"])
    review.get_by_label("撤销").check()
    review.get_by_label("复核意见").fill("主件已补交，撤销退回")
    cases.screenshot(path=out / "caller-case-review.png", animations="disabled")
    review.get_by_role("button", name="复核答复").click()
    expect(review).to_have_count(0)
    answered = [c for c in clerk.get(f"{live.url}/api/cases/period?month={done['recorded_at'][:7]}").json()["cases"]
                if c["number"] == returned]
    assert [(c["review_result"], c["reviewed_by"]) for c in answered] == [("撤销：主件已补交，撤销退回", "clerk1")]

    # the admin (中心管理人员) sees what is left to do and may mark a case's next time point as its clerk may
    admin = new_page(browser, f"{live.url}/admin/followups", CALLER, contexts)
    admin.fill("#username", "admin")
    admin.fill("#password", live.passwords["admin"])
    admin.get_by_role("button", name="登录").click()
    left_rows = admin.locator("#cases tbody tr")
    expect(left_rows).to_have_count(2)
    expect(left_rows.filter(has_text=approval).get_by_role("button")).to_have_text("送达")
    admin.screenshot(path=out / "admin-cases-left.png", animations="disabled")
    left_rows.filter(has_text=supplement).get_by_role("button", name="审核").click()
    expect(left_rows.filter(has_text=supplement).get_by_role("button")).to_have_text("决定")
    checked = clerk.get(f"{live.url}/api/cases").json()["cases"]
    assert [s["by"] for c in checked if c["number"] == supplement for s in c["steps"] if s["step"] == "checked"] == [
        "admin"]


def test_the_caller_handles_a_cases_time_points_and_prints_the_four_copy_notice(
        browser: Browser, hall: LiveHall, contexts: list[BrowserContext], tmp_path: Path) -> None:
    handle_cases_in_the_caller(browser, hall, contexts, tmp_path)


def take_screenshots(out: Path = SHOTS) -> None:
    with tempfile.TemporaryDirectory() as folder:
        shoot(live_hall(Path(folder)).start(), [handle_cases_in_the_caller], out)


if __name__ == "__main__":
    take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
    print("screenshots written")
