"""Calls made audible: the announcement WAV of each call, named before it exists so the `called` push is not
held back by synthesis, and served to the displays at /audio/<name>; and, on a display's request, a backlog of
waiting calls read briskly, alone or together (POST /api/announcements).

Residents' names never reach a WAV: the sentence holds only the ticket number and the window.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, send_file
from pydantic import Field, model_validator

from server.config import HallConfig
from server.operations import Answer, Body, operation
from server.queue import DomainError
from server.voice.phrase import announcement_text, together_parts
from server.voice.speech import Voice, VoiceError

log = logging.getLogger(__name__)

bp = Blueprint("audio", __name__)

CHIME = "chime.wav"
_NAME = re.compile(r"^[0-9a-f]{16,64}\.wav$")
_PENDING = 256  # announcements remembered by name until their file exists
KEEP = 400  # announcement WAVs kept on disk (~0.2 MB each): older ones are deleted, recalls of today stay cached
PRUNE_EVERY = 50  # syntheses between two clean-ups
TOGETHER_MAX = 8  # calls one announcement may read together
_TICKET = re.compile(r"^[A-Z]{0,2}[0-9]{1,6}$")


class Announcer:
    def __init__(self, config: HallConfig, voice: Voice, start_task: Callable[..., Any]):
        self.config = config
        self.voice = voice
        self.start_task = start_task
        self._pending: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def announce(self, number: str, window_name: str, push: Callable[[str | None], None]) -> None:
        """Hand the call to the screens with the URL they play (``push``), then start making that audio: the
        synthesis must not compete with sending the call. The URL is None when voice is off or broken (the screens
        play the chime)."""
        if not self.voice.health()["ok"]:
            push(None)
            return
        text = announcement_text(self.config.announcement, number, window_name, self.voice.settings.yao)
        name = self.voice.audio_name(text)
        self._expect(name, text)  # before the push: a display may ask for the file at once
        push(f"/audio/{name}")
        if self.voice.cached(text) is None:  # the disk after the push, not before it
            self.start_task(self._synthesise, text)

    def expect(self, number: str, window_name: str) -> None:
        """A call another server process of the hall announced: its audio may be asked for here, and is then made
        here from the same words (the processes need not share a folder)."""
        if self.voice.health()["ok"]:
            self._name(announcement_text(self.config.announcement, number, window_name, self.voice.settings.yao))

    def speak(self, text: str) -> str | None:
        """The URL of ``text`` spoken (a kiosk's prompt), its synthesis started, not awaited: the resident's screen
        must not wait for the voice. None when voice is off or broken: the kiosk stays silent."""
        if not self.voice.health()["ok"]:
            return None
        name, cached = self._name(text)
        if not cached:
            self.start_task(self._synthesise, text)
        return f"/audio/{name}"

    def _name(self, text: str) -> tuple[str, bool]:
        """The WAV name of ``text`` and whether it is already made; a name not yet made is remembered until it is."""
        name = self.voice.audio_name(text)
        cached = self.voice.cached(text) is not None
        if not cached:
            self._expect(name, text)
        return name, cached

    def _expect(self, name: str, text: str) -> None:
        """``name`` may be asked for before its file exists: it is then made from ``text`` (``file``)."""
        with self._lock:
            self._pending[name] = text
            while len(self._pending) > _PENDING:
                self._pending.popitem(last=False)

    def _synthesise(self, text: str) -> None:
        try:
            self.voice.announcement(text)
        except VoiceError as exc:
            log.warning("announcement not synthesised: %s", exc)
            return
        self._prune()

    def _prune(self) -> None:
        if self.voice.syntheses % PRUNE_EVERY == 0:
            self.voice.prune(KEEP)

    def busy(self, calls: list[tuple[str, int]]) -> dict[str, Any]:
        """Calls (ticket number, window id) read briskly, together if several, in this order: the URL of their
        WAV and where each call's part starts in it (ms). Made while the display waits: ~15 ms a part."""
        named = []
        for number, window_id in calls:
            window = self.config.window(window_id)
            if window is None:
                raise DomainError("invalid", "unknown_window", f"没有 {window_id} 号窗口")
            named.append((number, window.name))
        parts = together_parts(self.config.announcement, named, self.voice.settings.yao)
        try:
            path, starts = self.voice.busy(parts)
        except VoiceError as exc:
            raise DomainError("unavailable", "voice_unavailable", str(exc)) from exc
        self._prune()
        return {"audio": f"/audio/{path.name}", "starts_ms": starts}

    def file(self, name: str) -> Path | None:
        """The WAV called ``name``, waiting for its synthesis if it is still under way."""
        if name == CHIME:
            return self.voice.chime_path()
        with self._lock:
            text = self._pending.get(name)
        if text is None:
            path = self.voice.cache_dir / name
            return path if path.is_file() else None
        try:
            return self.voice.announcement(text)  # already made or in progress: no second synthesis
        except VoiceError:
            return None


class Call(Body):
    #: the ticket's number as printed: A012
    number: str = Field(pattern=_TICKET.pattern)
    #: the window it is called to
    window: int


class Calls(Body):
    """Calls waiting at a display, in call order. Anything else is 422 bad_calls (the display's own error code,
    older than the schema: checked first, before the fields' types)."""

    calls: list[Call] = Field(min_length=1, max_length=TOGETHER_MAX)

    @model_validator(mode="before")
    @classmethod
    def _calls(cls, data: Any) -> Any:
        calls = data.get("calls") if isinstance(data, dict) else None
        if not isinstance(calls, list) or not 1 <= len(calls) <= TOGETHER_MAX:
            raise DomainError("invalid", "bad_calls", f"calls 应为 1 到 {TOGETHER_MAX} 个叫号")
        for entry in calls:
            number, window = (entry.get("number"), entry.get("window")) if isinstance(entry, dict) else (None, None)
            if not isinstance(number, str) or not _TICKET.match(number) or type(window) is not int:
                raise DomainError("invalid", "bad_calls", "每个叫号应为 {\"number\": 票号, \"window\": 窗口号}")
        return data


class Busy(Answer):
    #: the WAV: /audio/<name>.wav
    audio: str
    #: where each call's part starts in it (ms), in the order of the calls
    starts_ms: list[int]


@operation(bp, "post", "/api/announcements", summary="Calls waiting at a display read briskly, together if several "
           "(display)", tag="display", roles=("display",), body=Calls, answer=Busy, errors=(503,),
           description="One call: its sentence; several: one sentence naming each number and window. 503 "
           "voice_unavailable when the voice cannot speak now.")
def announcements(data: Calls) -> dict[str, Any]:
    """Calls waiting at a display, read briskly, in call order."""
    announcer: Announcer = current_app.extensions["hallq_announcer"]
    return announcer.busy([(call.number, call.window) for call in data.calls])


@bp.get("/audio/<name>")
def audio(name: str) -> Any:
    """Public like the waiting-area TV itself: a call's number and window, nothing about anyone."""
    announcer: Announcer = current_app.extensions["hallq_announcer"]
    path = announcer.file(name) if _NAME.match(name) or name == CHIME else None
    if path is None:
        return _no_audio()
    try:
        return send_file(path, mimetype="audio/wav", max_age=86400)  # the name is a hash of the content
    except FileNotFoundError:  # pruned by another process of the hall between the look and the read
        return _no_audio()


def _no_audio() -> tuple[Any, int]:
    return jsonify({"error": {"code": "audio_not_found", "message": "没有这段语音（语音合成失败或已过期）"}}), 404
