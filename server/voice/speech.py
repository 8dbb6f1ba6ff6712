"""The synthesiser: the WAV the displays play for one call, made offline by pyttsx3 on espeak-ng, kept on disk.

Why it is shaped this way:

* libespeak-ng is process-global (initialised once, one synthesis callback, one current voice), so the process
  has ONE pyttsx3 engine, owned by ONE native thread that every `Voice` hands its work to: never two calls into
  espeak at once, and under gevent the waiting greenlet yields while espeak works (a gevent ThreadPool(1)).
* The first ``runAndWait()`` after ``init()`` returns before espeak has written the file, and a voice that does
  not exist is only reported to an "error" callback (espeak keeps speaking English): so every utterance waits
  for pyttsx3's ``finished-utterance`` callback, and the voice is read back after it is set. And runAndWait()
  cancels its own utterance when espeak is still busy as it starts: each utterance starts with espeak idle.
* libespeak-ng calls ``exit(1)`` when its data files are missing, which would take the whole hall server down:
  so it is first loaded once in a child process, and only if that works in this one.
* An announcement is synthesised once and cached under a name derived from its text and the settings, so the
  displays can be handed the URL before the file exists, and a recall costs nothing.
* A call's WAV is its sentence read once, silence trimmed: the display adds the chime and the repeat when nobody
  else waits, and leaves them out when calls queue up, so it can shorten an announcement between its pieces.
  With calls waiting, a display asks for them read briskly, alone or together: one WAV of one or several parts,
  with the start of each part.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import logging
import operator
import os
import subprocess
import sys
import tempfile
import threading
import time
import wave
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gevent import monkey

from server.voice.chime import chime_wav
from server.voice.settings import VoiceSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Part of every cache key: bump it when the layout of the WAV changes, so old files are not served.
FORMAT_VERSION = 2
DISABLED = "语音播报已关闭（config.toml [voice] enabled = false）"
GAP_PART = 0.15  # seconds between two calls read together
EDGE = 0.05  # seconds of espeak's silence kept at each end of a part
QUIET = 500  # of 32767: a 10 ms block whose loudest sample is below this is silence, trimmed off the ends
MIN_SPEECH_SECONDS = 0.5  # a shorter result means espeak said nothing useful
SILENCE_RMS = 100.0  # of 32767: below this the "speech" is silence
SYNTHESIS_TIMEOUT = 20.0  # seconds a caller waits for the engine thread (espeak itself needs ~10-30 ms)
UTTERANCE_TIMEOUT = 15.0  # seconds the engine thread waits for espeak's finished-utterance
SETTLE_TIMEOUT = 5.0  # seconds the engine thread waits for espeak to be idle (it takes well under 1 ms)
PROBE_TIMEOUT = 30.0  # seconds for the child process that loads libespeak-ng first
START_TIMEOUT = 60.0  # seconds an announcement waits for start-up (probe + warm-up) to finish
#: seconds an announcement made or used is safe from pruning: another process of the hall sharing the folder may
#: be about to serve it (a display hears a call pushed by one process and fetches its audio from another)
PRUNE_SPARES = 600.0
WARM_UP_TEXT = "一"
_PROBE = "import pyttsx3; pyttsx3.init('espeak')"


class VoiceError(Exception):
    """Speech is unavailable or failed; the message says why, in words for the hall's administrator."""


# ---------------------------------------------------------------- the process's one engine


class _Signal:
    """Set once by espeak's own thread, awaited by the engine thread: a raw native lock, never gevent's (a
    gevent primitive cannot wake a thread that runs another hub)."""

    def __init__(self) -> None:
        self._lock = monkey.get_original("_thread", "allocate_lock")()
        self._lock.acquire()
        self.completed = True

    def set(self, completed: bool) -> None:
        self.completed = completed
        with contextlib.suppress(RuntimeError):  # already set
            self._lock.release()

    def wait(self, timeout: float) -> bool:
        return bool(self._lock.acquire(timeout=timeout))


@dataclass(frozen=True)
class _Profile:
    """What espeak is told before it speaks: shared engine, so set before each Voice's work if it differs."""

    voice: str
    rate: int
    volume: float


class _Engine:
    """The pyttsx3 engine and its one native thread. Methods marked "engine thread" run only there."""

    def __init__(self) -> None:
        self.gevent = monkey.is_module_patched("threading")
        if self.gevent:
            from gevent.threadpool import ThreadPool

            self._pool: Any = ThreadPool(1)  # .spawn(...).get() yields to other greenlets while espeak works
        else:
            self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hallq-voice")
        self._probe_lock = threading.Lock()
        self._probed = False
        self.probe_error: str | None = None
        self.broken: str | None = None  # a permanent fault of the engine: only a restart helps
        self._busy_since: float | None = None
        # engine thread only:
        self._tts: Any = None
        self._playing: Callable[[], int] = lambda: 0
        self._applied: _Profile | None = None
        self._voice_id = ""
        self._finished: _Signal | None = None
        self._errors: list[str] = []

    # ---------------------------------------------------------- any thread or greenlet

    def probe(self) -> None:
        """Load libespeak-ng in a child process first (once): in this one its exit(1) would end the server."""
        with self._probe_lock:
            if not self._probed:
                self.probe_error = _probe()
                self._probed = True
        if self.probe_error:
            raise VoiceError(self.probe_error)

    def stalled(self) -> str | None:
        since = self._busy_since
        if since is not None and time.monotonic() - since > SYNTHESIS_TIMEOUT:
            return f"语音引擎无响应（一次合成已超过 {SYNTHESIS_TIMEOUT:.0f} 秒未完成），请重启服务"
        return None

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the engine thread; the caller waits (cooperatively under gevent), at most a while."""
        problem = self.stalled()
        if problem:
            raise VoiceError(problem)
        if self.gevent:
            import gevent

            result = self._pool.spawn(self._run, fn, args)
            try:
                return result.get(timeout=SYNTHESIS_TIMEOUT)
            except gevent.Timeout:
                raise VoiceError(f"语音合成超过 {SYNTHESIS_TIMEOUT:.0f} 秒未完成") from None
        future = self._pool.submit(self._run, fn, args)
        try:
            return future.result(timeout=SYNTHESIS_TIMEOUT)
        except concurrent.futures.TimeoutError:
            raise VoiceError(f"语音合成超过 {SYNTHESIS_TIMEOUT:.0f} 秒未完成") from None

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        self._busy_since = time.monotonic()
        try:
            return fn(*args)
        finally:
            self._busy_since = None

    # ---------------------------------------------------------- engine thread

    def load(self, profile: _Profile) -> str:
        """Engine created and warmed up, ``profile`` applied: the id of the voice espeak really uses."""
        self._open()
        self._apply(profile)
        return self._voice_id

    def render(self, profile: _Profile, parts: Sequence[str], path: Path,
               synthesised: Callable[[], None]) -> list[int]:
        """Make the announcement file ``path`` (``parts`` one after the other), unless an earlier queued call made
        it; the start of each part in ms. ``synthesised()`` is called here, before the file appears, so a count
        of syntheses is never behind the files."""
        if path.exists():
            return _starts_of(path, len(parts))
        self._open()
        self._apply(profile)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=".speech-", suffix=".wav")
        os.close(handle)
        raw = Path(name)
        spoken: list[array[int]] = []
        try:
            for part in parts:
                self._speak(part, raw)
                rate, speech = _read_speech(raw)
                spoken.append(trimmed(speech, rate))
        finally:
            raw.unlink(missing_ok=True)
        synthesised()
        samples, starts = _joined(spoken, rate)
        if len(parts) > 1:  # written first: a reader that finds the WAV finds its starts
            _replace(path.with_suffix(".json"), lambda handle: handle.write(json.dumps(starts).encode()))
        _write_wav(path, rate, samples)
        return starts

    def _open(self) -> None:
        if self.broken:
            raise VoiceError(self.broken)
        if self._tts is not None:
            return
        try:
            import pyttsx3

            tts = pyttsx3.init("espeak")
            from pyttsx3.drivers import _espeak
        except Exception as exc:  # RuntimeError (no libespeak-ng), OSError, ImportError
            self.broken = f"无法启动语音引擎 pyttsx3/espeak-ng：{exc}（需要安装 libespeak-ng1，装好后重启服务）"
            raise VoiceError(self.broken) from exc
        driver = sys.modules.get("pyttsx3.drivers.espeak")
        if driver is not None:  # it print()s "Audio saved to …" for every file: to the debug log instead
            driver.print = _debug_print  # type: ignore[attr-defined]
        tts.connect("finished-utterance", self._on_finished)
        tts.connect("error", self._on_error)
        self._tts, self._playing = tts, _espeak.IsPlaying
        try:
            self._warm_up()
        except VoiceError as exc:
            self.broken = self.broken or f"语音引擎预热失败：{exc}"
            raise VoiceError(self.broken) from exc

    def _warm_up(self) -> None:
        """The engine's first run, in espeak's default voice: until it, pyttsx3 only queues commands (so a voice
        set before it could not be checked), and it returns before espeak has written the file."""
        handle, name = tempfile.mkstemp(prefix="hallq-voice-warm-up-", suffix=".wav")
        os.close(handle)
        try:
            self._speak(WARM_UP_TEXT, Path(name))
            _read_speech(Path(name))  # complete, and really speech
        finally:
            Path(name).unlink(missing_ok=True)

    def _apply(self, profile: _Profile) -> None:
        """Set voice, rate and volume (at once: the engine is past its first run) and check that they took."""
        if self._applied == profile:
            return
        self._applied = None
        self._errors.clear()
        self._tts.setProperty("voice", profile.voice)  # an unknown voice: only an "error" callback, voice unchanged
        self._tts.setProperty("rate", profile.rate)
        self._tts.setProperty("volume", profile.volume)
        current = str(self._tts.getProperty("voice") or "")
        if not _same_voice(profile.voice, current):
            raise VoiceError(f"找不到语音 {profile.voice!r}：espeak-ng 没有这个语音（仍在用 {current or '默认语音'}）；"
                             "普通话请用 voice = \"cmn-latn-pinyin\"")
        if self._errors:
            raise VoiceError(f"语音设置无效（rate={profile.rate}, volume={profile.volume}）：{'; '.join(self._errors)}")
        self._applied, self._voice_id = profile, current

    def _speak(self, text: str, path: Path) -> None:
        """One utterance into ``path``, returning when espeak is done with it."""
        # runAndWait() first calls the driver's stop(), which, if espeak is still busy (a setting just made, the
        # end of the last utterance), marks the driver "stopping": that cancels the utterance of this run (and,
        # after the engine's first run, of the next). So start only when espeak is idle.
        self._settle()
        signal = _Signal()
        self._finished = signal
        self._errors.clear()
        self._tts.save_to_file(text, str(path))
        self._tts.runAndWait()  # the first one after init() returns before the file exists: the signal decides
        if not signal.wait(UTTERANCE_TIMEOUT):
            self.broken = f"语音引擎无响应：espeak-ng {UTTERANCE_TIMEOUT:.0f} 秒内没有完成合成，请重启服务"
            raise VoiceError(self.broken)
        self._settle()  # over when espeak's thread is idle, not when its callback has announced the end
        if not signal.completed or self._errors:
            raise VoiceError(f"语音合成失败：{'; '.join(self._errors) or '合成被中断'}")

    def _settle(self) -> None:
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while self._playing():
            if time.monotonic() > deadline:
                self.broken = f"语音引擎无响应：espeak-ng {SETTLE_TIMEOUT:.0f} 秒仍未空闲，请重启服务"
                raise VoiceError(self.broken)
            _native_sleep(0.0005)

    def _on_finished(self, name: Any = None, completed: bool = True, **_: Any) -> None:  # espeak's thread
        if self._finished is not None:
            self._finished.set(completed)

    def _on_error(self, name: Any = None, exception: Any = None, **_: Any) -> None:
        self._errors.append(str(exception))


_native_sleep: Callable[[float], None] = monkey.get_original("time", "sleep")  # the engine thread: nothing to yield to
_shared: _Engine | None = None
_shared_lock = threading.Lock()  # guards only the creation below, which never yields


def _engine() -> _Engine:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _Engine()
        return _shared


# ---------------------------------------------------------------- one hall's voice


class Voice:
    """The announcements of one hall: made by the shared engine with these settings, cached in ``cache_dir``."""

    def __init__(self, settings: VoiceSettings, cache_dir: Path):
        self.settings = settings
        self.cache_dir = Path(cache_dir)
        #: announcements this Voice synthesised (cache hits and waits for another call's work do not count);
        #: counted before the file appears
        self.syntheses = 0
        self._profile = _Profile(settings.voice, settings.rate, settings.volume)
        self._busy = _Profile(settings.voice, settings.busy_rate, settings.volume)
        self._lock = threading.Lock()
        self._started = False
        self._ready = threading.Event()
        self._start_error: str | None = None
        self._engine_voice: str | None = None
        self._last_error: str | None = None

    # ---------------------------------------------------------- start-up and health

    def start(self) -> None:
        """Probe, create the engine thread and warm up, in the background; never raises (see health())."""
        with self._lock:
            if self._started:
                return
            self._started = True
        try:
            threading.Thread(target=self._start, daemon=True, name="hallq-voice-start").start()
        except Exception as exc:  # the hall works without voice
            self._start_error = f"语音引擎无法启动：{exc}"
            self._ready.set()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Start if needed and wait (at most ``timeout`` s) for start-up to end: health() then (CLI, tests)."""
        self.start()
        self._ready.wait(timeout)
        return self.health()

    def health(self) -> dict[str, Any]:
        """``ok``: announcements can be made now; ``error``: why not, for the admin.

        Turned off is reported as not ok, with the reason: the calls are silent, and whoever looks at the health
        page should see that this was chosen (``enabled`` False) rather than guess at a fault. ``last_error`` is
        the last failed announcement, which does not by itself make the voice unhealthy.
        """
        if not self.settings.enabled:
            error: str | None = DISABLED
        elif not self._started:
            error = "语音引擎尚未启动"
        elif not self._ready.is_set():
            error = "语音引擎正在启动"
        else:
            error = self._start_error or ((_shared.broken or _shared.stalled()) if _shared else None)
        return {"ok": error is None, "error": error, "enabled": self.settings.enabled,
                "voice": self._engine_voice, "last_error": self._last_error}

    def _start(self) -> None:
        error: str | None = None
        try:
            if not self.settings.enabled:
                error = DISABLED
            else:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                engine = _engine()
                engine.probe()
                self._engine_voice = engine.call(engine.load, self._profile)
                self.chime_path()
        except VoiceError as exc:
            error = str(exc)
        except Exception as exc:
            log.exception("voice: start-up failed")
            error = f"语音引擎启动失败：{type(exc).__name__}: {exc}"
        if error and self.settings.enabled:
            log.warning("voice unavailable: %s", error)
        self._start_error = error
        self._ready.set()

    # ---------------------------------------------------------- announcements

    def audio_name(self, text: str) -> str:
        """The cache file's name for the call read once, with these settings: known before the file is made."""
        return self._name([text], self._profile)

    def _name(self, parts: Sequence[str], profile: _Profile) -> str:
        key = json.dumps([FORMAT_VERSION, *parts, profile.voice, profile.rate, profile.volume], ensure_ascii=False)
        return hashlib.sha1(key.encode()).hexdigest() + ".wav"

    def cached(self, text: str) -> Path | None:
        """The announcement's file if it has been made, marked as just used (a recall's audio is not pruned while
        the displays may fetch it); never synthesises."""
        path = self.cache_dir / self.audio_name(text)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def announcement(self, text: str) -> Path:
        """The WAV of one call: the sentence read once, made once and then cached.

        Concurrent calls for one text synthesise once: the work is queued to the one engine thread, where a
        call that finds the file made by the one before it returns it. Raises VoiceError.
        """
        return self._render([text], self._profile)[0]

    def busy(self, parts: Sequence[str]) -> tuple[Path, list[int]]:
        """The WAV of ``parts`` (calls waiting at a display) read one after the other at ``busy_rate``, and the
        start of each part in ms. Raises VoiceError."""
        return self._render(parts, self._busy)

    def _render(self, parts: Sequence[str], profile: _Profile) -> tuple[Path, list[int]]:
        if not self.settings.enabled:
            raise VoiceError(DISABLED)
        path = self.cache_dir / self._name(parts, profile)
        if path.exists():
            return path, _starts_of(path, len(parts))
        if not parts or not all(part.strip() for part in parts):
            raise VoiceError("没有要播报的文字")
        self.start()
        if not self._ready.wait(START_TIMEOUT):
            raise VoiceError("语音引擎启动超时")
        if self._start_error:
            raise VoiceError(self._start_error)
        engine = _engine()
        try:
            starts = engine.call(engine.render, profile, tuple(parts), path, self._synthesised)
        except VoiceError as exc:
            self._last_error = str(exc)
            raise
        except Exception as exc:  # the disk (full, read-only) or a bug: still a VoiceError to the caller
            log.exception("voice: announcement %r failed", parts)
            self._last_error = f"语音文件生成失败：{type(exc).__name__}: {exc}"
            raise VoiceError(self._last_error) from exc
        self._last_error = None
        return path, starts

    def _synthesised(self) -> None:  # engine thread: the only writer
        self.syntheses += 1

    def chime_path(self) -> Path:
        """The chime alone (what the displays play when speech fails), written into cache_dir once."""
        path = self.cache_dir / f"chime-v{FORMAT_VERSION}.wav"
        if not path.exists():
            _blocking(_write_chime, path)
        return path

    def prune(self, keep: int = 500, now: float | None = None) -> int:
        """Delete all but the ``keep`` newest announcements (~0.2 MB each at the defaults), sparing any made or
        used in the last PRUNE_SPARES seconds (``now``: the file system's time, by default the present); how many
        went. Other processes sharing the folder may prune at the same time: a file already gone is skipped."""
        now = time.time() if now is None else now
        files = []
        for path in self.cache_dir.glob("[0-9a-f]*.wav"):
            with contextlib.suppress(FileNotFoundError):
                files.append((path.stat().st_mtime, path))
        files.sort(reverse=True)
        gone = 0
        for made, old in files[keep:]:
            if now - made >= PRUNE_SPARES:
                old.unlink(missing_ok=True)
                old.with_suffix(".json").unlink(missing_ok=True)
                gone += 1
        return gone


# ---------------------------------------------------------------- helpers


def _probe() -> str | None:
    """None if a child process can load libespeak-ng through pyttsx3, else why not."""
    if not sys.executable:
        return None
    try:
        child = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                               timeout=PROBE_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"无法检测语音引擎 espeak-ng：{exc}"
    if child.returncode == 0:
        return None
    lines = [line.strip() for line in child.stderr.splitlines() if line.strip()]
    detail = (lines[-1] if lines else f"exit code {child.returncode}")[:300]
    return f"语音引擎 espeak-ng 无法加载：{detail}（需要安装 libespeak-ng1 与 espeak-ng-data，装好后重启服务）"


def _same_voice(requested: str, current: str) -> bool:
    """pyttsx3 reports the voice's file ("sit/cmn-latn-pinyin"); the settings may give its name or its file."""
    want, got = requested.strip().lower(), current.strip().lower()
    return bool(got) and (got == want or got.rsplit("/", 1)[-1] == want.rsplit("/", 1)[-1])


def _debug_print(*args: Any, **_: Any) -> None:
    log.debug("pyttsx3: %s", " ".join(map(str, args)))


def _read_speech(path: Path) -> tuple[int, array[int]]:
    """espeak's WAV as samples, refused when it is not 16-bit mono or is too short or silent."""
    try:
        with wave.open(str(path), "rb") as wav:
            params = wav.getparams()
            frames = wav.readframes(params.nframes)
    except (OSError, EOFError, wave.Error) as exc:
        raise VoiceError(f"语音合成没有产生可用的文件：{exc}") from exc
    if params.sampwidth != 2 or params.nchannels != 1:
        raise VoiceError(f"语音格式不支持：{params.nchannels} 声道 {8 * params.sampwidth} 位")
    samples = array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    seconds = len(samples) / params.framerate
    if seconds < MIN_SPEECH_SECONDS:
        raise VoiceError(f"合成的语音过短（{seconds:.2f} 秒）：espeak-ng 没有读出这句话")
    if rms(samples[::8]) < SILENCE_RMS:  # every 8th sample tells silence from speech, in an eighth of the time
        raise VoiceError("合成的语音是静音：espeak-ng 没有读出这句话")
    return params.framerate, samples


def rms(samples: array[int]) -> float:
    """Root mean square of 16-bit samples (0-32767)."""
    return (sum(map(operator.mul, samples, samples)) / len(samples)) ** 0.5 if samples else 0.0


def trimmed(speech: array[int], sample_rate: int) -> array[int]:
    """``speech`` without espeak's silence at either end (but EDGE of it): a backlog is read without dead air."""
    block = max(1, sample_rate // 100)
    loud = [i for i in range(0, len(speech), block) if max(map(abs, speech[i:i + block])) >= QUIET]
    if not loud:
        return speech
    edge = round(EDGE * sample_rate)
    return speech[max(0, loud[0] - edge):min(len(speech), loud[-1] + block + edge)]


def _joined(parts: list[array[int]], sample_rate: int) -> tuple[array[int], list[int]]:
    """The parts one after the other with GAP_PART between them, and the start of each in ms."""
    out, starts = array("h"), []
    gap = array("h", bytes(2 * round(GAP_PART * sample_rate)))
    for i, part in enumerate(parts):
        if i:
            out += gap
        starts.append(round(1000 * len(out) / sample_rate))
        out += part
    return out, starts


def _starts_of(path: Path, parts: int) -> list[int]:
    """The starts written beside a WAV of several parts (a lone part starts at 0)."""
    if parts == 1:
        return [0]
    try:
        starts = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError) as exc:
        raise VoiceError(f"语音文件不完整：{exc}") from exc
    return [int(start) for start in starts]


def _write_wav(path: Path, sample_rate: int, samples: array[int]) -> None:
    data = array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    _replace(path, lambda handle: _wav_into(handle, sample_rate, data.tobytes()))


def _wav_into(handle: Any, sample_rate: int, frames: bytes) -> None:
    with wave.open(handle, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(frames)


def _write_chime(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = chime_wav()
    _replace(path, lambda handle: handle.write(data))


def _replace(path: Path, write: Callable[[Any], Any]) -> None:
    """Write a temporary file beside ``path`` and rename it: a reader sees the whole file or none."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _blocking(call: Callable[..., T], *args: Any) -> T:
    """CPU and disk work off the gevent loop (gevent's pool of real threads), as the printer spooler does."""
    if monkey.is_module_patched("threading"):
        import gevent

        return gevent.get_hub().threadpool.apply(call, args)
    return call(*args)
