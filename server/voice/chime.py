"""The two-tone "ding-dong" before each announcement, made in code: no recording to license, ship or lose.

Two bell-like notes (a falling major third, E5 then C5), each a few decaying harmonics with a short attack, the
second starting while the first still rings; the whole is faded in and out so the speaker never clicks.
"""

from __future__ import annotations

import io
import math
import sys
import wave
from array import array

#: (start s, fundamental Hz, length s): ding, then dong
NOTES = ((0.0, 659.26, 0.75), (0.32, 523.25, 0.78))
#: (multiple of the fundamental, relative amplitude, decay rate 1/s): a soft bell
PARTIALS = ((1.0, 1.0, 4.5), (2.0, 0.35, 7.0), (3.0, 0.12, 10.0))
PEAK = 0.45  # of full scale: loud enough, with room for the speech that follows
ATTACK = 0.006  # seconds: a ramp this short sounds like a strike, not a click
FADE = 0.04  # seconds of fade at both ends of the whole sound


def chime_samples(sample_rate: int = 22050) -> array[int]:
    """The chime as signed 16-bit mono samples at ``sample_rate``."""
    length = max(start + duration for start, _, duration in NOTES)
    total = round(length * sample_rate)
    mix = [0.0] * total
    scale = sum(amplitude for _, amplitude, _ in PARTIALS)
    for start, frequency, duration in NOTES:
        first, count = round(start * sample_rate), round(duration * sample_rate)
        attack = max(1, round(ATTACK * sample_rate))
        for multiple, amplitude, decay in PARTIALS:
            if frequency * multiple >= sample_rate / 2:
                continue  # above Nyquist it would alias into a harsh tone
            step = 2 * math.pi * frequency * multiple / sample_rate
            weight, fall = amplitude / scale, math.exp(-decay / sample_rate)
            envelope = 1.0
            for i in range(min(count, total - first)):
                ramp = i / attack if i < attack else 1.0
                mix[first + i] += weight * envelope * ramp * math.sin(step * i)
                envelope *= fall
    top = max(abs(value) for value in mix) or 1.0
    fade = max(1, round(FADE * sample_rate))
    samples = array("h", bytes(2 * total))
    for i, value in enumerate(mix):
        edge = min(1.0, i / fade, (total - 1 - i) / fade)
        samples[i] = round(32767 * PEAK * value / top * edge)
    return samples


def chime_wav(sample_rate: int = 22050) -> bytes:
    """The chime as a complete WAV file: 16-bit mono, about one second."""
    samples = chime_samples(sample_rate)
    if sys.byteorder == "big":  # WAV is little-endian
        samples.byteswap()
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(samples.tobytes())
    return out.getvalue()
