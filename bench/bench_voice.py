"""Call → announcement audio ready: `Voice.announcement` with the default settings (the sentence once).

Cold: a new ticket number each time, so each call is synthesised by pyttsx3/espeak-ng, composed and written;
cached: the same texts again, served from the cache directory. In-process, no server: this is the voice's own cost.

    .venv/bin/python bench/bench_voice.py [--calls N]
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from server.voice.phrase import DEFAULT_TEMPLATE, announcement_text
from server.voice.speech import Voice, VoiceError, VoiceSettings

CALLS = 100
WARM_UP = 10
PREFIXES = "ABCDEFGHJKL"


def text(i: int) -> str:
    """A different call for each ``i``: number and window vary as in a real hall."""
    return announcement_text(DEFAULT_TEMPLATE, f"{PREFIXES[i % len(PREFIXES)]}{i % 1000:03d}", f"{i % 12 + 1}号窗口")


def p95(seconds: list[float]) -> float:
    """Nearest-rank 95th percentile in milliseconds, as common.Stats computes the others."""
    ordered = sorted(s * 1000 for s in seconds)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else math.nan


def timed(voice: Voice, texts: list[str], errors: list[str]) -> tuple[list[float], list[Path]]:
    seconds, paths = [], []
    for sentence in texts:
        start = time.perf_counter()
        try:
            path = voice.announcement(sentence)
        except VoiceError as exc:
            errors.append(str(exc))
            continue
        seconds.append(time.perf_counter() - start)
        paths.append(path)
    return seconds, paths


def run(calls: int = CALLS) -> common.Result:
    common.wait_for_quiet()
    speed = common.speed_index()
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hallq-bench-voice-") as folder:
        voice = Voice(VoiceSettings(), Path(folder))
        start = time.perf_counter()
        health = voice.wait_ready()
        ready = time.perf_counter() - start
        timed(voice, [text(1000 + i) for i in range(WARM_UP)], errors)
        texts = [text(i) for i in range(calls)]
        cold, paths = timed(voice, texts, errors)
        cached, _ = timed(voice, texts, errors)
        durations, sizes = [], []
        for path in paths:
            with wave.open(str(path)) as wav:
                durations.append(wav.getnframes() / wav.getframerate())
            sizes.append(path.stat().st_size)
        syntheses = voice.syntheses
    stats = {"cold (new text: synthesise)": common.Stats.of(cold),
             "cached (same text again)": common.Stats.of(cached)}
    durations.sort()
    sizes.sort()
    targets = [common.Target("cold p95", p95(cold), 100, "ms"),
               common.Target("cached p95", p95(cached), 5, "ms"),
               common.Target("errors", len(errors), 0, "")]
    extra = {"python speed index (ms, lower is faster)": speed,
             "p95 ms (cold / cached)": f"{p95(cold):.2f} / {p95(cached):.2f}",
             "start-up: probe + engine + warm-up (ms)": round(ready * 1000, 1),
             "health": health,
             "syntheses (warm-up + cold)": syntheses,
             "announcement seconds (min / median / max)":
                 f"{durations[0]:.2f} / {durations[len(durations) // 2]:.2f} / {durations[-1]:.2f}" if durations
                 else None,
             "announcement KB (median)": round(sizes[len(sizes) // 2] / 1024) if sizes else None,
             "settings": "cmn-latn-pinyin, rate 150, the sentence once",
             "first errors": errors[:5]}
    return common.Result("voice", "Announcement audio (pyttsx3 + espeak-ng, in-process)", stats, targets, extra)


if __name__ == "__main__":
    run(common.arguments(__doc__ or "", calls=CALLS).calls).report()
