"""The announcement cache shared by the processes of one hall (one instance folder): pruning spares what another
process may be serving, and skips what another process pruned first. No speech engine needed: the files are
stand-ins, their ages set on the file system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from server.voice.speech import PRUNE_SPARES, Voice, VoiceSettings

NOW = 2_000_000_000.0  # the file system's time in these tests


def announcement(voice: Voice, text: str, age: float) -> Path:
    """A cached announcement made ``age`` seconds before NOW."""
    path = voice.cache_dir / voice.audio_name(text)
    path.write_bytes(b"RIFF")
    os.utime(path, (NOW - age, NOW - age))
    return path


def test_pruning_keeps_the_newest_and_spares_any_made_or_used_lately(tmp_path: Path) -> None:
    voice = Voice(VoiceSettings(), tmp_path)
    old = [announcement(voice, f"请A00{i}号到1号窗口办理", age=PRUNE_SPARES + 100 * i) for i in range(1, 4)]
    fresh = announcement(voice, "请A009号到2号窗口办理", age=PRUNE_SPARES - 60)  # called a few minutes ago
    busy = old[2].with_suffix(".json")
    busy.write_text("[0, 1200]")

    assert voice.prune(keep=2, now=NOW) == 2  # the two newest stay
    assert [path.exists() for path in old] == [True, False, False]
    assert fresh.exists() and not busy.exists()
    assert voice.prune(keep=0, now=NOW + 30) == 1  # none need stay: the fresh one is still spared
    assert fresh.exists() and not old[0].exists()
    assert voice.prune(keep=0, now=NOW + 60) == 1 and not fresh.exists()  # its time is up


def test_a_cache_hit_counts_as_fresh_so_a_recall_is_not_pruned_under_the_display(tmp_path: Path) -> None:
    voice = Voice(VoiceSettings(), tmp_path)
    text = "请A001号到1号窗口办理"
    path = announcement(voice, text, age=PRUNE_SPARES * 3)
    assert voice.cached(text) == path  # the recall finds it, and marks it used
    assert voice.prune(keep=0) == 0 and path.exists()
    assert voice.cached("请A002号到1号窗口办理") is None


def test_a_file_another_process_pruned_first_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    voice = Voice(VoiceSettings(), tmp_path)
    gone = announcement(voice, "请A001号到1号窗口办理", age=PRUNE_SPARES * 2)
    original = Path.stat

    def stat_after_the_other_process(path: Path, **kwargs: object) -> os.stat_result:
        if path == gone:
            gone.unlink(missing_ok=True)  # the other process's prune got there between the listing and the stat
        return original(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "stat", stat_after_the_other_process)
    assert voice.prune(keep=0, now=NOW) == 0
