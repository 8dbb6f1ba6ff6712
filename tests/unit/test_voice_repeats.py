"""A repeated call costs no synthesis (issue 20, point 3): a recall, or the same number called again after 过号 at the
same window, is announced with the very WAV of the first call, made once by the real synthesiser. The WAV's name is
a hash of the words read (and the voice's settings), and a recall's words are the call's words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.announcer import Announcer
from server.events import HallEvent
from server.queue import QueueEngine
from server.voice.speech import Voice, VoiceSettings
from tests.conftest import Recorder


@pytest.fixture
def voice(tmp_path: Path) -> Voice:
    """An empty cache for each test: the same words on the other database must be synthesised again."""
    started = Voice(VoiceSettings(), tmp_path / "voice")
    health = started.wait_ready()
    assert health["ok"], health
    return started


def _run_now(task: Callable[..., Any], *args: Any) -> None:
    """The server starts the synthesis as a background task; here it runs at once, so its count can be read."""
    task(*args)


def test_a_recall_and_a_call_again_after_no_show_reuse_the_first_calls_audio(
        engine: QueueEngine, recorder: Recorder, voice: Voice) -> None:
    announcer = Announcer(engine.config, voice, _run_now)
    engine.sign_in(1, "clerk1")
    for _ in range(2):
        engine.issue("id-card", None, "device:kiosk-1")

    def announced(event: HallEvent) -> str:
        """What the screens are told to play for the call, as the server's Realtime hands it to the announcer."""
        assert event.ticket is not None and event.window_id is not None
        window = engine.config.window(event.window_id)
        assert window is not None
        urls: list[str | None] = []
        announcer.announce(event.ticket.number, window.name, urls.append)
        assert urls[0] is not None
        return urls[0]

    before = voice.syntheses
    first = engine.call_next(1, "clerk1")
    assert first is not None
    audio = announced(recorder.events[-1])
    assert voice.syntheses == before + 1 and (voice.cache_dir / audio.rsplit("/", 1)[1]).exists()

    engine.recall(1, "clerk1")
    assert recorder.events[-1].kind == "recalled"
    assert announced(recorder.events[-1]) == audio
    engine.no_show(1, "clerk1")
    engine.call_number(1, "clerk1", first.number)  # 特呼: back after 过号
    assert recorder.events[-1].kind == "called"
    assert announced(recorder.events[-1]) == audio
    assert voice.syntheses == before + 1, "a repeated call was synthesised again"

    engine.call_next(1, "clerk1")  # another number: other words, its own synthesis
    assert announced(recorder.events[-1]) != audio
    assert voice.syntheses == before + 2
