"""Phrase cutting and the bounded phrase queue of the automatic captions worker (issue 17):
a phrase ends at 0.6 s of quiet, of no packets, or at 8 s; a click is no phrase; a full
queue drops its oldest phrase and counts it; a phrase that waited too long is dropped."""

from __future__ import annotations

import numpy as np

from server.transcription.engine import SAMPLE_RATE
from server.transcription.live import (
    LONGEST_SECONDS,
    STALE_SECONDS,
    Phrase,
    PhraseCutter,
    PhraseQueue,
)

FRAME = SAMPLE_RATE // 50  # 20 ms


def loud(seed: int = 0) -> np.ndarray:
    return (0.2 * np.random.default_rng(seed).standard_normal(FRAME)).astype(np.float32)


def quiet() -> np.ndarray:
    return np.zeros(FRAME, np.float32)


def feed(cutter: PhraseCutter, frames: list[np.ndarray], t0: float = 100.0
         ) -> tuple[list[Phrase], float]:  # fmt: skip
    out, t = [], t0
    for f in frames:
        t += 0.02
        if (p := cutter.feed(f, t)) is not None:
            out.append(p)
    return out, t


def test_a_phrase_ends_at_six_tenths_of_quiet() -> None:
    cutter = PhraseCutter("r", "p1")
    phrases, _ = feed(cutter, [quiet()] * 10 + [loud()] * 50 + [quiet()] * 29)
    assert phrases == [], "0.58 s of quiet is a pause, not an end"
    phrases, _ = feed(cutter, [quiet()], 102.0)
    assert len(phrases) == 1
    p = phrases[0]
    assert (p.room, p.speaker) == ("r", "p1")
    # 1 s of speech, the pre-roll (0.2 s of quiet before it) and 0.2 s of the quiet after
    assert 1.3 <= p.seconds <= 1.45
    assert p.ended_at - p.started_at == np.float64(p.ended_at - p.started_at)
    assert 0.95 <= p.ended_at - p.started_at <= 1.05


def test_a_long_speech_is_cut_at_eight_seconds_and_silence_by_absence() -> None:
    cutter = PhraseCutter("r", "p1")
    phrases, t = feed(cutter, [loud(i) for i in range(int(10 / 0.02))])
    assert len(phrases) == 1 and abs(phrases[0].seconds - LONGEST_SECONDS) < 0.03
    assert cutter.idle(t + 0.3) is None
    rest = cutter.idle(t + 0.61)  # the speaker stopped sending: quiet too
    assert rest is not None and 1.9 <= rest.seconds <= 2.1


def test_a_click_is_not_a_phrase() -> None:
    cutter = PhraseCutter("r", "p1")
    phrases, _ = feed(cutter, [loud()] * 5 + [quiet()] * 40)
    assert phrases == []
    assert not cutter.speaking


def test_the_queue_drops_the_oldest_when_full_and_stale_phrases() -> None:
    queue = PhraseQueue(2)
    audio = np.zeros(10, np.float32)
    for i in range(5):
        queue.put(Phrase("r", "p", audio, float(i), float(i)))
    assert queue.dropped == 3 and len(queue) == 2
    got = queue.get(0.0, now=lambda: 4.0)
    assert got is not None and got.ended_at == 3.0, "the oldest of those still waiting"
    # one left, ended at 4.0; read much later it is stale
    assert queue.get(0.0, now=lambda: 4.0 + STALE_SECONDS + 1) is None
    assert queue.stale == 1
