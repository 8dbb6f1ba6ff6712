"""长辈模式's spoken prompts (POST /api/kiosk/prompts): sentences of the hall's words only, answered before the
voice has made them, then real espeak-ng speech at /audio/<name>."""

from __future__ import annotations

import io
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.clock import ManualClock
from tests.api.conftest import HallApp, open_hall_app
from tests.conftest import SMALL_HALL

PROMPTS = "/api/kiosk/prompts"


@pytest.fixture
def spoken(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[HallApp]:
    for hall_app in open_hall_app(tmp_path, database_url, clock):
        hall_app.app.extensions["hallq_announcer"].voice.wait_ready()
        yield hall_app


def test_each_screen_item_and_ticket_is_said_in_the_halls_words(spoken: HallApp) -> None:
    kiosk = spoken.kiosk()
    ticket = kiosk.post("/api/tickets", json={"service": "id-card"}).json["ticket"]
    asked = {"home": {}, "category": {}, "appointment": {}, "item": {"service": "id-card"},
             "ticket": {"ticket": ticket["id"]}}
    texts = {}
    for name, about in asked.items():
        answer = kiosk.post(PROMPTS, json={"prompt": name, **about})
        assert answer.status_code == 200, answer.json
        assert answer.json["audio"].startswith("/audio/") and answer.json["audio"].endswith(".wav")
        texts[name] = answer.json["text"]
    assert texts == {"home": "请选择您要办理的业务", "category": "请选择办理事项",
                     "appointment": "请输入预约码或手机号", "item": "您选择的是居民身份证核发",
                     "ticket": "您的号码是A零零一号，请留意叫号，到一号窗口（一楼）；三号窗口、四号窗口（二楼）"
                               "办理"}


def test_the_answer_does_not_wait_for_the_voice_then_the_wav_is_real_speech(spoken: HallApp) -> None:
    announcer = spoken.app.extensions["hallq_announcer"]
    held: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
    announcer.start_task = lambda task, *args: held.append((task, args))  # synthesis started, not yet run
    made = announcer.voice.syntheses
    answer = spoken.kiosk().post(PROMPTS, json={"prompt": "home"})
    assert answer.status_code == 200 and announcer.voice.syntheses == made and len(held) == 1
    audio = answer.json["audio"]
    assert not (announcer.voice.cache_dir / audio.removeprefix("/audio/")).exists()
    task, args = held[0]
    task(*args)
    wav = spoken.app.test_client().get(audio)
    assert wav.status_code == 200 and wav.mimetype == "audio/wav"
    with wave.open(io.BytesIO(wav.data)) as sound:
        assert 0.8 < sound.getnframes() / sound.getframerate() < 8.0
    assert spoken.kiosk().post(PROMPTS, json={"prompt": "home"}).json["audio"] == audio  # cached: no new task
    assert len(held) == 1


def test_no_free_text_is_spoken_and_unknown_prompts_are_refused(spoken: HallApp) -> None:
    kiosk = spoken.kiosk()
    said = kiosk.post(PROMPTS, json={"prompt": "home", "text": "请到隔壁交钱"}).json
    assert said["text"] == "请选择您要办理的业务"
    for body, status, code in (({"prompt": "say", "text": "你好"}, 422, "bad_field"),
                               ({"text": "你好"}, 422, "missing_field"),
                               ({"prompt": "item", "service": "nope"}, 404, "unknown_service"),
                               ({"prompt": "item"}, 404, "unknown_service"),
                               ({"prompt": "ticket"}, 422, "ticket_required"),
                               ({"prompt": "ticket", "ticket": 999}, 404, None)):
        refused = kiosk.post(PROMPTS, json=body)
        assert refused.status_code == status, (body, refused.json)
        assert code is None or refused.json["error"]["code"] == code, (body, refused.json)


def test_only_the_kiosk_asks(spoken: HallApp) -> None:
    assert spoken.display().post(PROMPTS, json={"prompt": "home"}).status_code == 403
    assert spoken.staff("guide").post(PROMPTS, json={"prompt": "home"}).status_code == 403
    assert spoken.app.test_client().post(PROMPTS, json={"prompt": "home"}).status_code == 401


def test_with_voice_off_the_kiosk_is_told_to_stay_silent(tmp_path: Path, database_url: str,
                                                         clock: ManualClock) -> None:
    for hall_app in open_hall_app(tmp_path, database_url, clock, SMALL_HALL + "\n[voice]\nenabled = false\n"):
        answer = hall_app.kiosk().post(PROMPTS, json={"prompt": "category"})
        assert answer.status_code == 200 and answer.json == {"text": "请选择办理事项", "audio": None}
