"""Calls made audible: the announcement WAV of each call, named before it exists so the `called` push is not
held back by synthesis, and served to the displays at /audio/<name>.

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

from server.config import HallConfig
from server.voice.phrase import announcement_text
from server.voice.speech import Voice, VoiceError

log = logging.getLogger(__name__)

bp = Blueprint("audio", __name__)

CHIME = "chime.wav"
_NAME = re.compile(r"^[0-9a-f]{16,64}\.wav$")
_PENDING = 256  # announcements remembered by name until their file exists
KEEP = 400  # announcement WAVs kept on disk (~0.5 MB each): older ones are deleted, recalls of today stay cached
PRUNE_EVERY = 50  # syntheses between two clean-ups


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
        cached = self.voice.cached(text) is not None
        if not cached:
            with self._lock:
                self._pending[name] = text
                while len(self._pending) > _PENDING:
                    self._pending.popitem(last=False)
        push(f"/audio/{name}")
        if not cached:
            self.start_task(self._synthesise, text)

    def _synthesise(self, text: str) -> None:
        try:
            self.voice.announcement(text)
        except VoiceError as exc:
            log.warning("announcement not synthesised: %s", exc)
            return
        if self.voice.syntheses % PRUNE_EVERY == 0:
            self.voice.prune(KEEP)

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


@bp.get("/audio/<name>")
def audio(name: str) -> Any:
    """Public like the waiting-area TV itself: a call's number and window, nothing about anyone."""
    announcer: Announcer = current_app.extensions["hallq_announcer"]
    path = announcer.file(name) if _NAME.match(name) or name == CHIME else None
    if path is None:
        return jsonify({"error": {"code": "audio_not_found", "message": "没有这段语音（语音合成失败或已过期）"}}), 404
    return send_file(path, mimetype="audio/wav", max_age=86400)  # the name is a hash of the content
