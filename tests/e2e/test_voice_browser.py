"""Voice announcements on the waiting-area display and the small screen above each window, in headless Chromium
against a real `hallq run`: calls announced one at a time with their captions, per-zone displays, no replay after
a reconnect, the 开启声音 button when the browser refuses sound, and /window/<id>.

Whether espeak-ng speaks on this machine or not, the order and no-overlap checks hold: a call without audio (or
whose audio fails) is announced with the chime and its caption.

Screenshots go to docs/screenshots/ when run as a script: ``.venv/bin/python -m tests.e2e.test_voice_browser``.
"""

from __future__ import annotations

import itertools
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, expect, sync_playwright

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, DISPLAY, SHOTS, TIMEOUT_MS, launch, wait_until
from tests.live import LiveHall

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

AUTOPLAY = "--autoplay-policy=no-user-gesture-required"
WINDOW_SCREEN = {"width": 1280, "height": 400}
WIDE_WINDOW_SCREEN = {"width": 1920, "height": 540}
ANNOUNCED_MS = 90_000  # three announcements of ~8 s each, with room for a slow first synthesis
OFFLINE = "连接中断，正在重连…"

#: the hall and its one everyday item, which both test halls start with
ID_CARD_HALL = """
[hall]
name = "测试便民服务中心"

[[services]]
code = "id-card"
name = "居民身份证核发"
category = "户籍管理"
prefix = "A"
"""

VOICE_HALL = ID_CARD_HALL + """
[[services]]
code = "pension"
name = "养老保险参保登记"
category = "养老保障"
prefix = "L"

[[services]]
code = "farm"
name = "耕地地力保护补贴"
category = "农业农村管理和服务"
prefix = "N"

[[windows]]
id = 1
name = "1号窗口"
label = "户籍"
services = ["id-card"]
zone = "一楼"

[[windows]]
id = 2
name = "2号窗口"
label = "户籍"
services = ["id-card"]
zone = "一楼"

[[windows]]
id = 3
name = "3号窗口"
label = "社保医保"
services = ["pension", "id-card"]
zone = "一楼"

[[windows]]
id = 4
name = "4号窗口"
label = "农业农村"
services = ["farm"]
zone = "二楼"

[[windows]]
id = 5
name = "5号窗口"
label = "农业农村"
services = ["farm"]
zone = "二楼"

[[displays]]
name = "display-1"
zones = ["一楼"]
"""

#: Six windows of one item, all on the display of every zone: six clerks can call at once.
BUSY_HALL = ID_CARD_HALL + "".join(f"""
[[windows]]
id = {i}
name = "{i}号窗口"
label = "综合受理"
services = ["id-card"]
""" for i in range(1, 7))

#: username → (display name, 工号); clerk1..clerk2, guide and admin come from LiveHall.prepare()
STAFF = {"clerk1": ("王小红", "1001"), "clerk2": ("李建国", "1002"), "clerk3": ("陈静", "1003"),
         "clerk4": ("张伟", "1004"), "clerk5": ("刘洋", "1005"), "clerk6": ("赵敏", "1006")}
BUDGET_MS = 15_000  # [voice] announce_within: from a call to its number being spoken

#: Chromium started without --autoplay-policy=no-user-gesture-required refuses play() until someone taps the page;
#: headless Chromium never does (it allows autoplay whatever the flag: checked with Chromium 156), and its
#: navigator.userActivation is already set after page.goto(). So a page "without the flag" gets the refusal of a
#: headed Chromium from this script: sound (not muted) is refused until a real (trusted) tap, click or key press.
REFUSE_SOUND_BEFORE_A_TAP = """
(() => {
  let tapped = false;
  for (const kind of ["pointerdown", "mousedown", "touchend", "keydown"]) {
    addEventListener(kind, (event) => { if (event.isTrusted) tapped = true; }, true);
  }
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (!this.muted && !tapped) {
      return Promise.reject(new DOMException("play() failed because the user didn't interact with the document "
        + "first.", "NotAllowedError"));
    }
    return play.call(this);
  };
})();
"""

#: Every sound that really played, from the media elements themselves (not from the page's own log): soundLog
#: holds [start|stop, url, performance.now()], maxPlaying the most sounds ever playing at once.
WATCH_SOUNDS = """
(() => {
  window.soundLog = [];
  window.maxPlaying = 0;
  let playing = 0;
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    const el = this;
    const started = play.call(this);
    started.then(() => {
      if (el.muted) return;
      playing += 1;
      window.maxPlaying = Math.max(window.maxPlaying, playing);
      const url = el.currentSrc || el.src;
      window.soundLog.push(["start", url, performance.now()]);
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        playing -= 1;
        window.soundLog.push(["stop", url, performance.now()]);
      };
      el.addEventListener("ended", stop);
      el.addEventListener("pause", stop);
      el.addEventListener("emptied", stop);
    }, () => {});
    return started;
  };
})();
"""

#: Every caption shown on the display, in order (installed once the page has loaded).
WATCH_CAPTIONS = """
() => {
  window.captionsSeen = [];
  const bar = document.getElementById("caption");
  const note = () => {
    const text = document.getElementById("caption-text").textContent;
    const box = bar.getBoundingClientRect();
    if (!bar.hidden && box.height > 0 && text && window.captionsSeen.at(-1) !== text) window.captionsSeen.push(text);
  };
  new MutationObserver(note).observe(bar, { attributes: true, childList: true, subtree: true, characterData: true });
}
"""


@dataclass
class VoiceHall(LiveHall):
    """A LiveHall over VOICE_HALL, with a second display device (not listed in [[displays]]: every zone), a
    device for the window screens, and staff with names and 工号."""

    hall_display_token: str = ""
    screen_token: str = ""
    sessions: dict[str, requests.Session] = field(default_factory=dict)

    def prepare(self) -> VoiceHall:
        from server.hall import Hall, Settings

        super().prepare()
        hall = Hall.open(Settings.resolve(self.config, self.instance, self.database_url))
        try:
            self.hall_display_token = hall.accounts.add_device("display-hall", "display")
            self.screen_token = hall.accounts.add_device("window-screens", "display")
            for name, (display_name, staff_no) in STAFF.items():
                self.passwords.setdefault(name, f"{name}-pass-2026")
                hall.accounts.add_user(name, "clerk", self.passwords[name], display_name=display_name,
                                       staff_no=staff_no)
        finally:
            hall.storage.dispose()
        return self

    def issue(self, service: str, count: int = 1) -> None:
        for _ in range(count):
            self.kiosk().post(f"{self.url}/api/tickets", json={"service": service}).raise_for_status()

    def clerk(self, name: str, window: int) -> requests.Session:
        """`name` signed in to `window` (kept: a second sign-in would be refused)."""
        if name not in self.sessions:
            self.sessions[name] = self.staff(name, window)
        return self.sessions[name]

    def act(self, name: str, window: int, action: str) -> dict[str, Any]:
        answer = self.clerk(name, window).post(f"{self.url}/api/windows/{window}/{action}")
        answer.raise_for_status()
        return answer.json()


def voice_hall(folder: Path, text: str = VOICE_HALL) -> VoiceHall:
    config = folder / "hall.toml"
    config.write_text(text, encoding="utf-8")
    return VoiceHall(folder / "instance", config=config).prepare().start()


def launch_with(playwright_: Playwright, *extra: str) -> Browser:
    return playwright_.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra])


class Screens:
    """Pages in their own browser contexts, closed at the end."""

    def __init__(self, browser: Browser):
        self.browser = browser
        self.contexts: list[BrowserContext] = []

    def open(self, url: str, viewport: dict[str, int] = DISPLAY, scripts: tuple[str, ...] = (WATCH_SOUNDS,)) -> Page:
        context = self.browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.contexts.append(context)
        for script in scripts:
            context.add_init_script(script)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        return page

    def display(self, hall: VoiceHall, token: str, windows: int, **kwargs: Any) -> Page:
        """A display, once it shows its windows, with the caption watcher installed."""
        page = self.open(f"{hall.url}/display#token={token}", **kwargs)
        expect(page.locator("#windows .win")).to_have_count(windows)
        page.evaluate(WATCH_CAPTIONS)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def hall(tmp_path: Path) -> Iterator[VoiceHall]:
    live = voice_hall(tmp_path)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def busy_hall(tmp_path: Path) -> Iterator[VoiceHall]:
    live = voice_hall(tmp_path, BUSY_HALL)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def playwright_() -> Iterator[Playwright]:
    with sync_playwright() as playwright_:
        yield playwright_


@pytest.fixture(scope="module")
def browser(playwright_: Playwright) -> Iterator[Browser]:
    """Chromium as the waiting-area TV runs it: sound without a tap."""
    chromium = launch_with(playwright_, AUTOPLAY)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def screens(browser: Browser) -> Iterator[Screens]:
    expect.set_options(timeout=TIMEOUT_MS)
    opened = Screens(browser)
    yield opened
    opened.close()


# ---------------------------------------------------------------- helpers

def announcements(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.hallqAnnouncements")


def wait_announced(page: Page, count: int, timeout: float = ANNOUNCED_MS) -> list[dict[str, Any]]:
    """The display's announcements once `count` have ended (and none is playing)."""
    wait_until(page,
               f"window.hallqAnnouncements.length >= {count} && window.hallqAnnouncements.every(a => a.ended !== null)",
               timeout)
    return announcements(page)


def check_audio(entry: dict[str, Any], base_url: str) -> None:
    """An announcement played its own WAV when it had one (and the server serves it as a WAV); the chime when not."""
    if entry["audio"] is None:
        assert entry["outcome"] == "chime", entry
        return
    answer = requests.get(f"{base_url}{entry['audio']}", timeout=10)
    assert answer.status_code == 200, entry
    assert answer.headers["Content-Type"].startswith("audio/wav"), answer.headers
    assert entry["outcome"] == "played", entry


# ---------------------------------------------------------------- tests

def test_three_quick_calls_are_announced_in_order_one_at_a_time(hall: VoiceHall, screens: Screens) -> None:
    hall.issue("id-card", 3)
    for name, window in (("clerk1", 1), ("clerk2", 2), ("clerk3", 3)):
        hall.clerk(name, window)
    display = screens.display(hall, hall.display_token, windows=3)

    for name, window in (("clerk1", 1), ("clerk2", 2), ("clerk3", 3)):  # as fast as the API answers
        hall.act(name, window, "call-next")

    played = wait_announced(display, 3)
    assert [(a["number"], a["window"]) for a in played] == [("A001", 1), ("A002", 2), ("A003", 3)]
    for before, after in itertools.pairwise(played):
        assert after["started"] >= before["ended"], (before, after)
    calls = {c["number"]: c for c in display.evaluate("window.hallqCalls")}
    for entry in played:
        assert entry["text"] == calls[entry["number"]]["text"] == f"请{entry['number']}号到{entry['window']}号窗口办理"
        assert entry["audio"] == calls[entry["number"]]["audio"], "each call plays its own audio"
        check_audio(entry, hall.url)
    if all(a["audio"] for a in played):
        assert len({a["audio"] for a in played}) == 3
    assert display.evaluate("window.captionsSeen") == [a["text"] for a in played]
    assert display.evaluate("window.maxPlaying") == 1, display.evaluate("window.soundLog")
    sounds = display.evaluate("window.soundLog")
    assert [s[0] for s in sounds] == ["start", "stop"] * (len(sounds) // 2), sounds
    expect(display.locator("#caption")).to_be_hidden()
    expect(display.locator("#latest-number")).to_have_text("A003")


def test_six_windows_calling_at_once_are_each_heard_within_15_s_in_order(busy_hall: VoiceHall,
                                                                         screens: Screens) -> None:
    hall = busy_hall
    hall.issue("id-card", 7)
    clerks = [(f"clerk{i}", i) for i in range(1, 7)]
    for name, window in clerks:
        hall.clerk(name, window)
    hall.act("clerk6", 6, "call-next")  # A001, before the display is on: window 6 will call it again (重呼)
    display = screens.display(hall, hall.display_token, windows=6)

    pressed = time.monotonic()
    for name, window in clerks:  # as fast as the API answers: all six within 3 s
        hall.act(name, window, "recall" if window == 6 else "call-next")
    assert time.monotonic() - pressed < 3

    played = wait_announced(display, 6, timeout=60_000)
    assert [(a["number"], a["window"], a["recall"]) for a in played] == [
        ("A002", 1, False), ("A003", 2, False), ("A004", 3, False), ("A005", 4, False), ("A006", 5, False),
        ("A001", 6, True)]
    delays = [a["delay_ms"] for a in played]
    print("key press → speech start (ms):", delays, "forms:", [a["form"] for a in played])
    assert all(d is not None and 0 <= d <= BUDGET_MS for d in delays), played
    for before, after in itertools.pairwise(played):
        assert after["started"] >= before["ended"], (before, after)
        assert after["spoken"] > before["spoken"]
    for entry in played:
        assert entry["started"] <= entry["spoken"] < entry["ended"] and entry["outcome"] == "played", entry
    assert played[0]["chime"] and {a["form"] for a in played[1:]} <= {"short", "together"}
    assert display.evaluate("window.captionsSeen") == [a["text"] for a in played]  # every call's caption
    assert display.evaluate("window.maxPlaying") == 1, display.evaluate("window.soundLog")
    expect(display.locator("#caption")).to_be_hidden()


def test_a_lone_call_gets_the_chime_and_the_sentence_twice(busy_hall: VoiceHall, screens: Screens) -> None:
    busy_hall.issue("id-card")
    busy_hall.clerk("clerk1", 1)
    display = screens.display(busy_hall, busy_hall.display_token, windows=6)
    busy_hall.act("clerk1", 1, "call-next")

    (entry,) = wait_announced(display, 1)
    assert (entry["number"], entry["form"], entry["chime"], entry["outcome"]) == ("A001", "full", True, "played")
    assert 0 <= entry["delay_ms"] <= BUDGET_MS
    sounds = [urlsplit(s[1]).path for s in display.evaluate("window.soundLog") if s[0] == "start"]
    assert sounds == ["/audio/chime.wav", entry["audio"], entry["audio"]]
    check_audio(entry, busy_hall.url)


def test_an_audio_that_fails_falls_back_to_the_chime_and_the_queue_goes_on(hall: VoiceHall, screens: Screens) -> None:
    hall.issue("id-card", 3)
    for name, window in (("clerk1", 1), ("clerk2", 2), ("clerk3", 3)):
        hall.clerk(name, window)
    display = screens.display(hall, hall.display_token, windows=3)
    broken: dict[str, str] = {}  # audio path → what the display gets: missing (404), garbage, or the real WAV

    def serve(route: Route) -> None:
        path = urlsplit(route.request.url).path
        fault = broken.setdefault(path, ("missing", "garbage", "real")[min(len(broken), 2)])
        if fault == "missing":
            route.fulfill(status=404, content_type="application/json", body="{}")
        elif fault == "garbage":
            route.fulfill(status=200, content_type="audio/wav", body=b"RIFF....WAVEfmt not really a wav" * 10)
        else:
            route.continue_()

    display.route(re.compile(r"/audio/[0-9a-f]+\.wav$"), serve)
    # nor can it read waiting calls briskly: each call falls back to its own sentence
    display.route("**/api/announcements", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": {"code": "voice_unavailable", "message": "语音引擎无响应"}}'))
    for name, window in (("clerk1", 1), ("clerk2", 2), ("clerk3", 3)):
        hall.act(name, window, "call-next")

    played = wait_announced(display, 3)
    assert [a["number"] for a in played] == ["A001", "A002", "A003"]
    assert [a["outcome"] for a in played] == ["chime", "chime", "played" if played[2]["audio"] else "chime"]
    for before, after in itertools.pairwise(played):
        assert after["started"] >= before["ended"]
    assert display.evaluate("window.captionsSeen") == [a["text"] for a in played]
    assert display.evaluate("window.maxPlaying") == 1


def test_a_call_older_than_30_s_is_shown_but_not_announced(hall: VoiceHall, screens: Screens) -> None:
    hall.issue("id-card", 2)
    hall.clerk("clerk1", 1)
    display = screens.display(hall, hall.display_token, windows=3)
    # the device's clock jumps a minute ahead: until the next snapshot corrects it, every call looks a minute old
    display.evaluate("Date.now = ((now) => () => now() + 60_000)(Date.now)")
    hall.act("clerk1", 1, "call-next")
    wait_until(display, "window.hallqCalls.length === 1")
    expect(display.locator("#latest-number")).to_have_text("A001")
    expect(display.locator("#waiting [data-service='id-card']")).to_contain_text("1 人")  # the next snapshot
    assert announcements(display) == []
    expect(display.locator("#caption")).to_be_hidden()

    hall.act("clerk1", 1, "call-next")  # the snapshot set the clock right again
    assert [a["number"] for a in wait_announced(display, 1)] == ["A002"]


def test_a_zone_display_shows_and_announces_only_its_zone(hall: VoiceHall, screens: Screens) -> None:
    hall.issue("id-card")
    hall.issue("farm")
    hall.clerk("clerk1", 1)
    hall.clerk("clerk4", 4)
    ground = screens.display(hall, hall.display_token, windows=3)  # display-1: 一楼
    everything = screens.display(hall, hall.hall_display_token, windows=5)
    expect(ground.locator("#zones")).to_have_text("一楼")
    expect(everything.locator("#zones")).to_be_hidden()
    assert [int(w) for w in ground.locator("#windows .win").evaluate_all("ws => ws.map(w => w.dataset.window)")] \
        == [1, 2, 3]

    hall.act("clerk4", 4, "call-next")  # 二楼
    hall.act("clerk1", 1, "call-next")  # 一楼

    assert [a["number"] for a in wait_announced(everything, 2)] == ["N001", "A001"]
    assert [a["number"] for a in wait_announced(ground, 1)] == ["A001"]
    assert [c["number"] for c in ground.evaluate("window.hallqCalls")] == ["A001"]
    assert ground.evaluate("window.captionsSeen") == ["请A001号到1号窗口办理"]
    expect(everything.locator("#windows [data-window='4'] .win-number")).to_have_text("N001")
    expect(ground.locator("#windows [data-window='4']")).to_have_count(0)
    expect(ground.locator("#recent li")).to_have_count(1)
    expect(ground.locator("#recent li")).to_contain_text("A001")
    expect(everything.locator("#recent li")).to_have_count(2)
    hall.issue("farm")  # an item served only on 二楼 is not counted on 一楼's display
    expect(everything.locator("#waiting [data-service='farm']")).to_contain_text("1 人")
    expect(ground.locator("#waiting [data-service='farm']")).to_have_count(0)

    ground.reload()  # the recent calls of a fresh snapshot are filtered by zone too
    expect(ground.locator("#recent li")).to_have_count(1)
    expect(ground.locator("#latest-number")).to_have_text("A001")


def test_after_a_restart_the_display_shows_the_hall_and_replays_nothing(hall: VoiceHall, screens: Screens) -> None:
    hall.issue("id-card", 2)
    hall.clerk("clerk1", 1)
    display = screens.display(hall, hall.display_token, windows=3)
    hall.act("clerk1", 1, "call-next")
    assert [a["number"] for a in wait_announced(display, 1)] == ["A001"]

    offline = display.locator("#offline")
    hall.stop()
    expect(offline).to_be_visible()
    expect(offline).to_have_text(OFFLINE)
    call_while_offline(hall)  # A002 at window 2: the display can only learn it from the snapshot
    hall.start()
    back = time.monotonic()

    expect(offline).to_be_hidden(timeout=5_000)
    expect(display.locator("#windows [data-window='2'] .win-number")).to_have_text("A002", timeout=5_000)
    expect(display.locator("#latest-number")).to_have_text("A002", timeout=5_000)
    assert time.monotonic() - back < 5.5
    hall.sessions.clear()  # the server's sessions survived (signed cookies), but start clean
    time.sleep(2)  # anything replayed would have arrived by now
    assert [a["number"] for a in announcements(display)] == ["A001"]
    assert [c["number"] for c in display.evaluate("window.hallqCalls")] == ["A001"]
    expect(display.locator("#caption")).to_be_hidden()

    hall.issue("id-card")  # and the next call is announced as usual
    hall.act("clerk1", 1, "call-next")
    assert [a["number"] for a in wait_announced(display, 2)] == ["A001", "A003"]


def call_while_offline(hall: VoiceHall) -> None:
    from server.hall import Hall, Settings

    offline = Hall.open(Settings.resolve(hall.config, hall.instance))
    try:
        offline.engine.sign_in(2, "clerk2")
        offline.engine.call_next(2, "clerk2")
    finally:
        offline.storage.dispose()


def test_without_the_autoplay_flag_one_tap_turns_the_sound_on(hall: VoiceHall, playwright_: Playwright) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    browser = launch(playwright_)  # as a Chromium started without the kiosk flags
    screens = Screens(browser)
    try:
        hall.issue("id-card", 2)
        display = screens.display(hall, hall.display_token, windows=3,
                                  scripts=(REFUSE_SOUND_BEFORE_A_TAP, WATCH_SOUNDS))
        unlock = display.get_by_role("button", name="开启声音")
        expect(unlock).to_be_hidden()
        hall.act("clerk1", 1, "call-next")
        expect(unlock).to_be_visible()
        expect(display.locator("#caption")).to_contain_text("请A001号到1号窗口办理")
        first = wait_announced(display, 1)[0]
        assert first["outcome"] == "blocked" and first["number"] == "A001"

        unlock.click()
        expect(unlock).to_be_hidden()
        hall.act("clerk1", 1, "call-next")
        second = wait_announced(display, 2)[1]
        assert second["number"] == "A002" and second["outcome"] in ("played", "chime"), second
        assert len(announcements(display)) == 2, "the refused call is not replayed"
        expect(unlock).to_be_hidden()
        assert display.evaluate("window.captionsSeen") == ["请A001号到1号窗口办理", "请A002号到1号窗口办理"]
    finally:
        screens.close()
        browser.close()


def test_the_window_screen_shows_number_clerk_status_and_count(hall: VoiceHall, screens: Screens) -> None:
    screen = screens.open(f"{hall.url}/window/1#token={hall.screen_token}", WINDOW_SCREEN, scripts=())
    assert "token" not in screen.url
    expect(screen.locator("#ws-name")).to_have_text("1号窗口")
    expect(screen.locator("#ws-label")).to_have_text("户籍")
    expect(screen.locator("#ws-number")).to_have_text("未开放")
    expect(screen.locator("#ws-served")).to_have_text("今日已办 0 件")

    hall.clerk("clerk1", 1)
    expect(screen.locator("#ws-number")).to_have_text("请稍候")
    expect(screen.locator("#ws-clerk-name")).to_have_text("王小红")
    expect(screen.locator("#ws-clerk-no")).to_have_text("工号 1001")

    hall.issue("id-card", 2)
    hall.act("clerk1", 1, "call-next")
    expect(screen.locator("#ws-number")).to_have_text("A001")
    expect(screen.locator("#ws-now-label")).to_have_text("正在呼叫")
    expect(screen.locator("#ws-now")).to_have_class("ws-now flash")
    hall.act("clerk1", 1, "start")
    expect(screen.locator("#ws-now-label")).to_have_text("正在办理")
    hall.act("clerk1", 1, "finish")
    expect(screen.locator("#ws-served")).to_have_text("今日已办 1 件")
    expect(screen.locator("#ws-number")).to_have_text("请稍候")

    hall.clerk("clerk2", 2)  # another window's call does not flash this one
    hall.act("clerk2", 2, "call-next")
    expect(screen.locator("#ws-now")).not_to_have_class("ws-now flash", timeout=8_000)
    expect(screen.locator("#ws-number")).to_have_text("请稍候")

    hall.act("clerk1", 1, "pause")
    expect(screen.locator("#ws-number")).to_have_text("暂停服务")
    expect(screen.locator("#ws-clerk-name")).to_have_text("王小红")
    check_inside(screen, WINDOW_SCREEN)
    screen.set_viewport_size(WIDE_WINDOW_SCREEN)
    check_inside(screen, WIDE_WINDOW_SCREEN)


def check_inside(screen: Page, viewport: dict[str, int]) -> None:
    """Everything on the window screen is on the screen, and the texts are not cut."""
    for selector in ("#ws-name", "#ws-number", "#ws-clerk-name", "#ws-clerk-no", "#ws-served", "#clock"):
        box = screen.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
        assert box["x"] + box["width"] <= viewport["width"] + 1, (selector, box)
        assert box["y"] + box["height"] <= viewport["height"] + 1, (selector, box)
        clipped = screen.locator(selector).evaluate("el => el.scrollWidth > el.clientWidth + 1")
        assert not clipped, selector


def test_an_unknown_window_screen_says_so(hall: VoiceHall, screens: Screens) -> None:
    answer = requests.get(f"{hall.url}/window/99", timeout=10)
    assert answer.status_code == 404
    screen = screens.open(f"{hall.url}/window/99#token={hall.screen_token}", WINDOW_SCREEN, scripts=())
    expect(screen.get_by_role("alert")).to_contain_text("没有 99 号窗口")
    no_token = screens.open(f"{hall.url}/window/1", WINDOW_SCREEN, scripts=())
    expect(no_token.get_by_role("alert")).to_contain_text("本设备未授权")


# ---------------------------------------------------------------- screenshots for docs/screens.md

def take_screenshots(out: Path = SHOTS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright_:
        hall = voice_hall(Path(folder))
        browser = launch_with(playwright_, AUTOPLAY)
        plain = launch(playwright_)
        screens, refused = Screens(browser), Screens(plain)
        try:
            hall.issue("id-card", 6)
            hall.issue("pension", 3)
            hall.issue("farm", 4)
            for name, window in (("clerk1", 1), ("clerk2", 2), ("clerk3", 3), ("clerk4", 4)):
                hall.act(name, window, "call-next")
            hall.act("clerk3", 3, "start")
            hall.act("clerk2", 2, "pause")

            screen = screens.open(f"{hall.url}/window/1#token={hall.screen_token}", WINDOW_SCREEN, scripts=())
            expect(screen.locator("#ws-clerk-name")).to_have_text("王小红")
            time.sleep(1)
            ground = screens.display(hall, hall.display_token, windows=3)
            hall.act("clerk1", 1, "call-next")
            expect(ground.locator("#caption")).to_be_visible()
            expect(ground.locator("#windows [data-window='1'] .win-number")).to_have_text("A003")
            expect(ground.locator("#waiting [data-service='id-card']")).to_contain_text("3 人")
            expect(screen.locator("#ws-number")).to_have_text("A003")
            ground.screenshot(path=out / "display-caption.png", animations="disabled")
            screen.screenshot(path=out / "window-screen.png", animations="disabled")
            screen.set_viewport_size(WIDE_WINDOW_SCREEN)
            screen.screenshot(path=out / "window-screen-1920x540.png", animations="disabled")
            wait_announced(ground, 1)

            silent = refused.display(hall, hall.hall_display_token, windows=5,
                                     scripts=(REFUSE_SOUND_BEFORE_A_TAP,))
            hall.act("clerk4", 4, "call-next")
            expect(silent.get_by_role("button", name="开启声音")).to_be_visible()
            expect(silent.locator("#waiting [data-service='farm']")).to_contain_text("2 人")
            silent.screenshot(path=out / "display-unlock.png", animations="disabled")
        finally:
            screens.close()
            refused.close()
            browser.close()
            plain.close()
            hall.stop()


if __name__ == "__main__":
    take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else SHOTS)
    print(f"screenshots written to {SHOTS if len(sys.argv) < 2 else sys.argv[1]}")
