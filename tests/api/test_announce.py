"""Calls made audible and routed by zone: the `called` push with its audio, /audio, /api/health, and the
windows' own screens' data. Real espeak-ng through pyttsx3 (installed by `make test`)."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.api import DESK_WITHOUT_PRINTER
from server.clock import ManualClock
from tests.api.conftest import HallApp, open_hall_app
from tests.api.test_realtime import received, socketio_of
from tests.conftest import SMALL_HALL

ZONED = SMALL_HALL + """
[[displays]]
name = "tv-1f"
zones = ["一楼"]
"""


@pytest.fixture
def zoned(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[HallApp]:
    for hall_app in open_hall_app(tmp_path, database_url, clock, ZONED):
        hall_app.app.extensions["hallq_announcer"].voice.wait_ready()
        yield hall_app


def call(hall_app: HallApp, window: int, service: str) -> None:
    assert hall_app.kiosk().post("/api/tickets", json={"service": service}).status_code == 201
    clerk = hall_app.staff(f"clerk{window}" if window < 3 else "admin", window=window)
    assert clerk.post(f"/api/windows/{window}/call-next").status_code == 200


def test_a_call_carries_its_announcement_which_is_real_speech(zoned: HallApp) -> None:
    display = socketio_of(zoned).test_client(zoned.app, auth={"token": zoned.display_token})
    call(zoned, 1, "id-card")
    (called,) = received(display, "called")
    assert called["text"] == "请A001号到1号窗口办理" and called["zone"] == "一楼"
    assert called["audio"].startswith("/audio/") and called["audio"].endswith(".wav")

    answer = zoned.app.test_client().get(called["audio"])  # public, like the TV; waits for the synthesis
    assert answer.status_code == 200 and answer.mimetype == "audio/wav"
    with wave.open(io.BytesIO(answer.data)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert 1.5 < seconds < 8.0  # the sentence once: the display adds the chime and the repeat
    chime = zoned.app.test_client().get("/audio/chime.wav")
    assert chime.status_code == 200 and chime.data.startswith(b"RIFF")


def test_a_recall_is_announced_again_from_the_cache(zoned: HallApp) -> None:
    display = socketio_of(zoned).test_client(zoned.app, auth={"token": zoned.display_token})
    call(zoned, 1, "id-card")
    zoned.app.test_client().get(received(display, "called")[0]["audio"])
    voice = zoned.app.extensions["hallq_announcer"].voice
    made = voice.syntheses
    assert zoned.staff("clerk1").post("/api/windows/1/recall").status_code == 200
    recalled = received(display, "called")[-1]
    assert recalled["recall"] is True
    assert zoned.app.test_client().get(recalled["audio"]).status_code == 200
    assert voice.syntheses == made


def test_a_display_bound_to_a_zone_hears_only_its_zone(zoned: HallApp) -> None:
    sio = socketio_of(zoned)
    first_floor = sio.test_client(zoned.app, auth={"token": zoned.hall.accounts.add_device("tv-1f", "display")})
    everywhere = sio.test_client(zoned.app, auth={"token": zoned.display_token})
    announce = {"chime": True, "repeat": 2, "within_s": 15}  # [voice]: how the display reads the calls
    assert received(first_floor, "display") == [{"name": "tv-1f", "zones": ["一楼"], "announce": announce}]
    assert received(everywhere, "display") == [{"name": "display-1", "zones": None, "announce": announce}]
    call(zoned, 1, "id-card")  # 1号窗口, 一楼
    call(zoned, 3, "id-card")  # 3号窗口, 二楼
    assert [c["window"] for c in received(first_floor, "called")] == [1]
    assert [c["window"] for c in received(everywhere, "called")] == [1, 3]
    kiosk = sio.test_client(zoned.app, auth={"token": zoned.kiosk_token})
    call(zoned, 1, "id-card")
    assert received(kiosk, "called") == []  # the kiosk has no use for calls


def test_a_display_has_waiting_calls_read_together_with_where_each_starts(zoned: HallApp) -> None:
    display = zoned.display()
    calls = [{"number": "A001", "window": 1}, {"number": "A002", "window": 2}, {"number": "A003", "window": 3}]
    answer = display.post("/api/announcements", json={"calls": calls})
    assert answer.status_code == 200, answer.json
    starts = answer.json["starts_ms"]
    assert len(starts) == 3 and starts[0] == 0 and starts[0] < starts[1] < starts[2]
    audio = zoned.app.test_client().get(answer.json["audio"])
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    with wave.open(io.BytesIO(audio.data)) as wav:
        assert starts[2] < 1000 * wav.getnframes() / wav.getframerate()
    assert display.post("/api/announcements", json={"calls": calls[:1]}).json["starts_ms"] == [0]

    for body, code in (({"calls": []}, "bad_calls"), ({"calls": calls * 3}, "bad_calls"), ({}, "bad_calls"),
                       ({"calls": [{"number": "张三", "window": 1}]}, "bad_calls"),
                       ({"calls": [{"number": "A001", "window": "1"}]}, "bad_calls"),
                       ({"calls": [{"number": "A001", "window": 99}]}, "unknown_window")):
        refused = display.post("/api/announcements", json=body)
        assert refused.status_code == 422 and refused.json["error"]["code"] == code, (body, refused.json)
        assert any("\u4e00" <= char <= "\u9fff" for char in refused.json["error"]["message"])
    assert zoned.kiosk().post("/api/announcements", json={"calls": calls}).status_code == 403
    assert zoned.app.test_client().post("/api/announcements", json={"calls": calls}).status_code == 401


def test_with_voice_off_calls_still_show_and_the_admin_sees_why(tmp_path: Path, database_url: str,
                                                               clock: ManualClock) -> None:
    for hall_app in open_hall_app(tmp_path, database_url, clock, SMALL_HALL + "\n[voice]\nenabled = false\n"):
        display = socketio_of(hall_app).test_client(hall_app.app, auth={"token": hall_app.display_token})
        call(hall_app, 1, "id-card")
        (called,) = received(display, "called")
        assert called["audio"] is None and called["text"] == "请A001号到1号窗口办理"
        health = hall_app.staff("admin").get("/api/health").json
        assert health["voice"]["ok"] is False and "enabled = false" in health["voice"]["error"]
        assert hall_app.app.test_client().get("/audio/chime.wav").status_code == 200  # what the displays play
        display = hall_app.display()
        refused = display.post("/api/announcements", json={"calls": [{"number": "A001", "window": 1}]})
        assert refused.status_code == 503 and refused.json["error"]["code"] == "voice_unavailable"


def test_health_is_for_staff_and_names_what_is_wrong(zoned: HallApp) -> None:
    health = zoned.staff("guide").get("/api/health").json
    assert health["voice"] == {**health["voice"], "ok": True, "error": None}
    assert health["printers"] == {"ok": True, "faults": [], "desk_printer": None,
                                  "desk_note": DESK_WITHOUT_PRINTER} and health["database"]["ok"] is True
    assert zoned.kiosk().get("/api/health").status_code == 403
    assert zoned.app.test_client().get("/api/health").status_code == 401


def test_unknown_audio_is_a_clear_404(zoned: HallApp) -> None:
    client = zoned.app.test_client()
    for name in ("0123456789abcdef0123456789abcdef01234567.wav", "../secret_key", "x.wav"):
        answer = client.get(f"/audio/{name}")
        assert answer.status_code == 404
    assert client.get("/audio/0123456789abcdef0123456789abcdef01234567.wav").json["error"]["code"] == "audio_not_found"


def test_the_snapshot_tells_each_window_screen_its_clerk_and_count(zoned: HallApp) -> None:
    zoned.hall.accounts.add_user("clerk1", "clerk", "clerk1-secret-pw", display_name="王小红", staff_no="1001")
    call(zoned, 1, "id-card")
    clerk = zoned.staff("clerk1")
    clerk.post("/api/windows/1/finish")
    windows = {w["id"]: w for w in zoned.hall.engine.snapshot()["windows"]}
    assert windows[1]["clerk"] == {"name": "王小红", "staff_no": "1001", "party_member": False}
    assert windows[1]["served_today"] == 1 and windows[2]["served_today"] == 0
