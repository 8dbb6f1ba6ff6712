"""Calls spoken aloud: the sentence, the chime, and real synthesis by pyttsx3 on the real espeak-ng (no mocks).

Each failure mode of espeak-ng is produced for real in a child process: a libespeak-ng.so.1 that cannot be loaded
(shadowed through LD_LIBRARY_PATH), and espeak-ng data that is missing (ESPEAK_DATA_PATH on an empty folder,
where libespeak-ng itself calls exit(1)).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import wave
from array import array
from pathlib import Path
from typing import Any

import pytest

from server.voice.chime import chime_samples, chime_wav
from server.voice.phrase import (
    DEFAULT_TEMPLATE,
    announcement_text,
    chinese_number,
    spell_number,
    together_parts,
    window_words,
)
from server.voice.speech import DISABLED, GAP_PART, Voice, VoiceError, VoiceSettings, rms, trimmed

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = "请A零一二号到三号窗口办理"
RATE = 22050
LOUD = 500.0  # RMS of 32767 that speech clearly exceeds (espeak's Mandarin here: ~3000)
needs_cli = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the espeak-ng command is not installed")


# ---------------------------------------------------------------- the sentence


@pytest.mark.parametrize(("number", "yao", "spoken"), [
    ("A012", False, "A零一二"),
    ("A012", True, "A零幺二"),
    ("B100", False, "B一零零"),
    ("L907", False, "L九零七"),
    ("Q1", True, "Q幺"),
    ("123", False, "一二三"),
    ("ab-45", False, "ab-四五"),
    ("Ａ０１２", False, "Ａ零一二"),  # full-width, typed with a Chinese input method
])
def test_ticket_numbers_are_read_digit_by_digit(number: str, yao: bool, spoken: str) -> None:
    assert spell_number(number, yao=yao) == spoken


@pytest.mark.parametrize(("name", "spoken"), [
    ("3号窗口", "三号窗口"),
    ("12号窗口", "十二号窗口"),
    ("10号", "十号"),
    ("20", "二十"),
    ("105", "一百零五"),
    ("110号窗口", "一百一十号窗口"),
    ("0号", "零号"),
    ("03号", "零三号"),
    ("综合受理窗口", "综合受理窗口"),
    ("二楼1号窗口（社保）", "二楼一号窗口（社保）"),
    ("３号窗口", "三号窗口"),
])
def test_window_numbers_are_read_as_numbers(name: str, spoken: str) -> None:
    assert window_words(name) == spoken


def test_yao_is_only_for_ticket_digits() -> None:
    assert announcement_text(DEFAULT_TEMPLATE, "A111", "1号窗口", yao=True) == "请A幺幺幺号到一号窗口办理"


@pytest.mark.parametrize(("value", "words"), [
    (0, "零"), (7, "七"), (10, "十"), (11, "十一"), (20, "二十"), (99, "九十九"), (100, "一百"), (101, "一百零一"),
    (1000, "一千"), (1010, "一千零一十"), (1200, "一千二百"), (10000, "一万"), (10005, "一万零五"),
    (100010, "十万零一十"), (120000, "十二万"), (100000001, "一亿零一"),
])
def test_chinese_numbers(value: int, words: str) -> None:
    assert chinese_number(value) == words


def test_the_template_is_filled_with_the_spoken_forms() -> None:
    assert announcement_text(DEFAULT_TEMPLATE, "A012", "3号窗口") == SENTENCE
    assert announcement_text("请{number}号到{window}办理，谢谢", "B7", "12号窗口") == "请B七号到十二号窗口办理，谢谢"
    assert announcement_text("{window}请{number}号 {x}", "A1", "2号") == "二号请A一号 {x}"  # stray braces stay
    assert announcement_text("", "A1", "2号窗口") == "请A一号到二号窗口办理"


# ---------------------------------------------------------------- the chime


def test_the_chime_is_a_short_clean_16_bit_mono_sound() -> None:
    with wave.open(io.BytesIO(chime_wav())) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        seconds = wav.getnframes() / wav.getframerate()
    assert 0.8 <= seconds <= 1.2
    samples = chime_samples(RATE)
    assert rms(samples) > LOUD
    assert max(map(abs, samples)) < 32767 * 0.9  # headroom: never clipped
    assert samples[0] == 0 and samples[-1] == 0  # faded in and out: no click at either end
    assert max(map(abs, samples[:20])) < 1000 and max(map(abs, samples[-20:])) < 1000


def test_the_chime_is_made_at_any_rate() -> None:
    with wave.open(io.BytesIO(chime_wav(16000))) as wav:
        assert wav.getframerate() == 16000 and 0.8 <= wav.getnframes() / 16000 <= 1.2


# ---------------------------------------------------------------- real synthesis


def read(path: Path) -> tuple[Any, array[int]]:
    with wave.open(str(path)) as wav:
        params = wav.getparams()
        return params, array("h", wav.readframes(params.nframes))


def started(settings: VoiceSettings, cache: Path) -> Voice:
    voice = Voice(settings, cache)
    health = voice.wait_ready()
    assert health["ok"], health
    return voice


@pytest.fixture(scope="module")
def once(tmp_path_factory: pytest.TempPathFactory) -> Voice:
    return started(VoiceSettings(), tmp_path_factory.mktemp("once"))


def test_an_announcement_is_real_speech_in_a_wav(once: Voice) -> None:
    path = once.announcement(SENTENCE)
    params, samples = read(path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, RATE)
    assert 1.5 <= params.nframes / RATE <= 8.0
    assert rms(samples) > LOUD
    assert path.parent == once.cache_dir and path.name == once.audio_name(SENTENCE)
    assert [p.name for p in once.cache_dir.iterdir() if not p.name.endswith(".wav")] == []  # no temp files left


def test_an_announcement_starts_and_ends_with_speech(once: Voice) -> None:
    """espeak's silence is trimmed off both ends: the display's pauses are its own, and a backlog has no dead air."""
    _, samples = read(once.announcement(SENTENCE))
    block = RATE // 10
    assert rms(samples[:block]) > LOUD / 5 and rms(samples[-block:]) > LOUD / 5


def test_calls_waiting_are_read_briskly_together_with_the_start_of_each(once: Voice) -> None:
    calls = [("A001", "1号窗口"), ("A002", "2号窗口"), ("A003", "12号窗口")]
    parts = together_parts(DEFAULT_TEMPLATE, calls)
    assert parts == ["请A零零一号到一号窗口", "A零零二号到二号窗口", "A零零三号到十二号窗口办理"]
    path, starts = once.busy(parts)
    params, samples = read(path)
    assert starts[0] == 0 and starts == sorted(starts) and len(starts) == 3
    ends = [*starts[1:], round(1000 * params.nframes / RATE)]
    for start, end in zip(starts, ends, strict=True):  # each part is speech, and a pause comes before the next
        assert rms(samples[start * RATE // 1000: end * RATE // 1000]) > LOUD
    for start in starts[1:]:
        gap = samples[(start * RATE // 1000) - round(GAP_PART * RATE) + RATE // 100: start * RATE // 1000]
        assert rms(gap) < 50
    # faster than each call's own sentence: three calls together take less than two said alone
    sentence = announcement_text(DEFAULT_TEMPLATE, *calls[0])
    alone = read(once.announcement(sentence))[0].nframes
    assert params.nframes < 2 * alone
    one, starts_one = once.busy(together_parts(DEFAULT_TEMPLATE, calls[:1]))  # one waiting call: its sentence,
    assert starts_one == [0] and one != once.cached(sentence) and read(one)[0].nframes < 0.9 * alone  # briskly

    made = once.syntheses
    assert once.busy(parts) == (path, starts) and once.syntheses == made  # cached, with its starts


@needs_cli
def test_the_sentence_is_read_in_mandarin_with_latin_letters_as_pinyin() -> None:
    text = announcement_text(DEFAULT_TEMPLATE, "A012", "3号窗口")
    phonemes = subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-q", "-x", text], capture_output=True,
                              text=True, check=True).stdout
    assert phonemes.count("X'Au51") == 2  # 号, twice
    assert "(en)" not in phonemes  # espeak-ng marks every switch to English like this
    english = subprocess.run(["espeak-ng", "-v", "cmn", "-q", "-x", text], capture_output=True, text=True,
                             check=True).stdout
    assert "(en)" in english  # why the plain Mandarin voice is not used


@needs_cli
def test_the_synthesiser_really_speaks_with_the_pinyin_voice(tmp_path: Path) -> None:
    """The engine's own answer, and the sound itself: as long as the espeak-ng CLI's with that voice, unlike
    the plain Mandarin voice (English words) and the English one (what a failed voice change leaves on)."""
    voice = started(VoiceSettings(), tmp_path)
    assert voice.health()["voice"] == "sit/cmn-latn-pinyin"
    ours = read(voice.announcement(SENTENCE))[0].nframes

    def cli(name: str) -> int:
        out = tmp_path / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", name, "-s", "150", "-w", str(out), SENTENCE], check=True)
        return len(trimmed(read(out)[1], RATE))

    assert abs(ours - cli("cmn-latn-pinyin")) <= 0.01 * ours
    assert abs(ours - cli("cmn")) > 0.1 * ours
    assert abs(ours - cli("en")) > 0.1 * ours


def test_a_second_call_is_served_from_the_cache(once: Voice) -> None:
    text = announcement_text(DEFAULT_TEMPLATE, "C321", "5号窗口")
    assert once.cached(text) is None
    before = once.syntheses
    first = once.announcement(text)
    assert once.syntheses == before + 1
    content = first.read_bytes()
    again = once.announcement(text)
    assert once.syntheses == before + 1
    assert again == first == once.cached(text) and again.read_bytes() == content


def test_the_audio_name_is_known_before_synthesis_and_depends_on_the_settings(once: Voice) -> None:
    text = announcement_text(DEFAULT_TEMPLATE, "D404", "7号窗口")
    name = once.audio_name(text)
    assert name == once.audio_name(text) and len(name) == 44 and name.endswith(".wav")
    assert once.cached(text) is None
    assert once.audio_name(text) != Voice(VoiceSettings(rate=170), Path()).audio_name(text)
    assert once.audio_name(text) == Voice(VoiceSettings(repeat=1, chime=False), Path()).audio_name(text)  # displays
    assert once.announcement(text).name == name


def test_concurrent_calls_for_one_text_synthesise_once(once: Voice) -> None:
    text = announcement_text(DEFAULT_TEMPLATE, "E555", "8号窗口")
    before = once.syntheses
    callers = 8
    barrier = threading.Barrier(callers)
    paths: list[Path] = []

    def call() -> None:
        barrier.wait()
        paths.append(once.announcement(text))

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(paths) == callers and set(paths) == {once.cache_dir / once.audio_name(text)}
    assert once.syntheses == before + 1


def test_a_sentence_espeak_cannot_say_is_refused_and_the_voice_stays_healthy(once: Voice) -> None:
    with pytest.raises(VoiceError, match="没有读出"):
        once.announcement("，")  # espeak-ng makes 0.4 s of nothing of it
    health = once.health()
    assert health["ok"] and "没有读出" in health["last_error"]
    once.announcement(announcement_text(DEFAULT_TEMPLATE, "G707", "6号窗口"))  # the next synthesis works
    assert once.health()["last_error"] is None


# ---------------------------------------------------------------- failures


def test_voice_turned_off(tmp_path: Path) -> None:
    voice = Voice(VoiceSettings(enabled=False), tmp_path)
    voice.start()
    health = voice.wait_ready()
    assert health["ok"] is False and health["error"] == DISABLED and health["enabled"] is False
    with pytest.raises(VoiceError, match="已关闭"):
        voice.announcement(SENTENCE)
    assert voice.chime_path().read_bytes() == chime_wav()  # the displays still get the chime


def test_a_voice_that_espeak_does_not_have(tmp_path: Path, once: Voice) -> None:
    voice = Voice(VoiceSettings(voice="zh"), tmp_path)  # espeak-ng has no "zh": it would stay on English
    voice.start()
    health = voice.wait_ready()
    assert health["ok"] is False and "找不到语音 'zh'" in health["error"]
    with pytest.raises(VoiceError, match="找不到语音"):
        voice.announcement(SENTENCE)
    assert list(tmp_path.glob("[0-9a-f]*.wav")) == []
    text = announcement_text(DEFAULT_TEMPLATE, "F606", "9号窗口")  # the shared engine is not left on "zh"
    assert once.announcement(text).is_file() and once.health()["ok"]


PROBE = """
    import json, sys
    from pathlib import Path
    from server.voice.speech import Voice, VoiceError, VoiceSettings
    voice = Voice(VoiceSettings(), Path(sys.argv[1]))
    voice.start()
    health = voice.wait_ready()
    try:
        voice.announcement("请A零一二号到三号窗口办理")
        raised = None
    except VoiceError as exc:
        raised = str(exc)
    print(json.dumps({"health": health, "raised": raised, "chime": voice.chime_path().is_file()}))
"""


def in_child(tmp_path: Path, script: str, **env: str) -> dict[str, Any]:
    """Run ``script`` in a fresh Python; its last line of output, as JSON. The child must exit normally."""
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(tmp_path / "cache")],
                           capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=120)
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_libespeak_ng_that_cannot_be_loaded(tmp_path: Path) -> None:
    shadow = tmp_path / "lib"
    shadow.mkdir()
    (shadow / "libespeak-ng.so.1").write_bytes(b"")  # found before the real one, and not a library
    out = in_child(tmp_path, PROBE, LD_LIBRARY_PATH=str(shadow))
    assert out["health"]["ok"] is False
    assert "espeak-ng" in out["health"]["error"] and "libespeak-ng1" in out["health"]["error"]
    assert out["raised"] == out["health"]["error"]
    assert out["chime"]


@pytest.mark.slow
def test_espeak_ng_data_missing_does_not_end_the_process(tmp_path: Path) -> None:
    """libespeak-ng calls exit(1) without its data: the child survives because the engine is probed first."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    out = in_child(tmp_path, PROBE, ESPEAK_DATA_PATH=str(empty))
    assert out["health"]["ok"] is False and "phontab" in out["health"]["error"]
    assert out["raised"] == out["health"]["error"]
    assert out["chime"]


@pytest.mark.slow
def test_under_gevent_the_loop_runs_while_espeak_speaks(tmp_path: Path) -> None:
    """The callers wait cooperatively: a greenlet spawned after five callers of one new text runs before any
    of them is answered, and the five share one synthesis."""
    out = in_child(tmp_path, """
        from gevent import monkey
        monkey.patch_all()
        import json, sys
        from pathlib import Path
        import gevent
        from server.voice.speech import Voice, VoiceSettings
        voice = Voice(VoiceSettings(), Path(sys.argv[1]))
        assert voice.wait_ready()["ok"], voice.health()
        order = []
        def call(i):
            order.append(voice.announcement("请B二二二号到四号窗口办理").name)
        greenlets = [gevent.spawn(call, i) for i in range(5)] + [gevent.spawn(order.append, "other")]
        gevent.joinall(greenlets, raise_error=True)
        print(json.dumps({"order": order, "syntheses": voice.syntheses, "health": voice.health()}))
    """)
    assert out["order"][0] == "other"
    assert len(set(out["order"][1:])) == 1 and len(out["order"]) == 6
    assert out["syntheses"] == 1 and out["health"]["ok"]
