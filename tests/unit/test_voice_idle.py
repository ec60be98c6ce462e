"""Voice mode (audio level, envelope, mouth, nod) and idle mode (blinks, breathing)."""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable
from types import FrameType

import av
import numpy as np
import pytest
from aiortc.rtp import compute_audio_level_dbov

from avatar.idle import IdleAnimator, IdleParams
from avatar.pose import BLENDSHAPE_INDEX, TrackingState
from avatar.voice import MIN_DBOV, VoiceAnimator, VoiceParams, audio_level_dbov

JAW = BLENDSHAPE_INDEX["jawOpen"]
BLINK = BLENDSHAPE_INDEX["eyeBlinkLeft"]


def tone(dbov: float, n: int = 960, hz: float = 220.0) -> np.ndarray:
    amplitude = 32767 * math.sqrt(2) * 10 ** (dbov / 20)  # a sine's rms is peak / √2
    t = np.arange(n) / 48000
    return np.round(amplitude * np.sin(2 * math.pi * hz * t)).astype(np.int16)


@pytest.mark.parametrize("level", [-3.0, -20.0, -45.0, -90.0])
def test_level_of_a_tone(level: float) -> None:
    assert abs(audio_level_dbov(tone(level)) - level) <= 1


def test_silence_and_empty() -> None:
    assert audio_level_dbov(np.zeros(960, np.int16)) == MIN_DBOV
    assert audio_level_dbov(np.zeros(0, np.int16)) == MIN_DBOV
    full = np.full(960, -32768, np.int16)
    assert audio_level_dbov(full) == 0


def test_matches_aiortc_and_is_fast() -> None:
    rng = np.random.default_rng(4)
    for scale in (30, 300, 3000, 20000):
        pcm = np.clip(rng.normal(0, scale, 960), -32768, 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        assert audio_level_dbov(pcm) == compute_audio_level_dbov(frame)
    # Fast means vectorised: aiortc's loops over the samples in Python (~1.6 ms a
    # frame), this one hands them to numpy. Counted in Python lines run, not in seconds (a
    # busy machine has no effect on the count): the same few lines for any frame size.
    assert python_lines(audio_level_dbov, tone(-20, 960)) <= 20
    assert python_lines(audio_level_dbov, tone(-20, 96_000)) == python_lines(
        audio_level_dbov, tone(-20, 960)
    )


def python_lines(fn: Callable[[np.ndarray], object], arg: np.ndarray) -> int:
    """How many lines of Python ``fn(arg)`` runs, in its own body and whatever it calls."""
    lines = 0

    def trace(frame: FrameType, event: str, _arg: object) -> Callable[..., object]:
        nonlocal lines
        lines += event == "line"
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        fn(arg)
    finally:
        sys.settrace(previous)
    return lines


def test_mouth_opens_fast_and_closes_slower() -> None:
    voice = VoiceAnimator()
    t = 0
    for _ in range(10):  # 200 ms of silence
        pose = voice.update(-90, t)
        t += 20
    assert pose.weights[JAW] == 0.0 and pose.state is TrackingState.VOICE
    opened = []
    for _ in range(5):  # loud speech: 100 ms
        opened.append(voice.update(-15, t).weights[JAW])
        t += 20
    assert opened[2] >= 0.8 * VoiceParams().jaw_open  # most of the way within 60 ms
    closing = []
    for _ in range(5):
        closing.append(voice.update(-90, t).weights[JAW])
        t += 20
    assert closing[2] > 0.2 * VoiceParams().jaw_open  # release is slower than attack
    assert all(a >= b for a, b in itertools.pairwise(closing))


def test_room_noise_keeps_the_mouth_shut_and_nod_is_small() -> None:
    voice = VoiceAnimator()
    pitches = []
    for i in range(100):
        level = -60 if i < 50 else (-15 if (i // 10) % 2 else -55)
        pose = voice.update(level, i * 20)
        pitches.append(pose.pitch)
        if i < 50:
            assert pose.weights[JAW] == 0.0
    assert min(pitches) < -0.5  # nods on syllable onsets
    assert min(pitches) >= -VoiceParams().nod_degrees and max(pitches) <= 0.0


def test_voice_over_idle_still_blinks() -> None:
    voice = VoiceAnimator(idle=IdleAnimator(np.random.default_rng(0)))
    blinks = [voice.update(-90, t).weights[BLINK] for t in range(0, 20_000, 20)]
    assert max(blinks) > 0.9


def blink_starts(anim: IdleAnimator, seconds: float, step_ms: int = 10) -> list[float]:
    starts, shut = [], False
    for t in range(0, int(seconds * 1000), step_ms):
        w = anim.pose_at(t).weights[BLINK]
        if w > 0.5 and not shut:
            starts.append(t / 1000)
        shut = w > 0.5
    return starts


def test_idle_blinks_at_human_intervals_and_deterministically() -> None:
    a = blink_starts(IdleAnimator(np.random.default_rng(11)), 120)
    b = blink_starts(IdleAnimator(np.random.default_rng(11)), 120)
    c = blink_starts(IdleAnimator(np.random.default_rng(12)), 120)
    assert a == b and a != c
    gaps = np.diff(a)
    assert 15 <= len(a) <= 45  # 120 s at one blink every ~2-8 s
    assert gaps.min() >= 0.2  # a double blink is the closest pair
    assert 2.5 <= float(np.mean(gaps)) <= 7.0


def test_a_blink_is_brief_and_complete() -> None:
    anim = IdleAnimator(np.random.default_rng(3), IdleParams(double_blink=0.0))
    w = np.array([anim.pose_at(t).weights[BLINK] for t in range(0, 30_000, 5)])
    assert w.max() == pytest.approx(1.0, abs=0.01)
    shut = w > 0.5
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, shut.astype(int), 0])))[::2] * 5
    assert runs.min() >= 40 and runs.max() <= 200  # milliseconds eyes are mostly shut


def test_breathing_is_a_tiny_slow_nod() -> None:
    anim = IdleAnimator(np.random.default_rng(5))
    poses = [anim.pose_at(t) for t in range(0, 12_000, 50)]
    pitch = np.array([p.pitch for p in poses])
    assert 0.3 < pitch.max() <= 0.6 + 1e-9 and pitch.min() < -0.3
    assert max(abs(p.position[1]) for p in poses) <= 0.002 + 1e-12
    assert all(p.state is TrackingState.IDLE for p in poses)
    # Slow: no more than 2.5 breath cycles in 12 s (zero crossings of the nod).
    crossings = np.sum(np.diff(np.sign(pitch)) != 0)
    assert 3 <= crossings <= 7
