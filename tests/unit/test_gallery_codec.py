"""The gallery plane's messages (issue 19): frames round-trip with stage poses, crowd
entries and audio; a closed session's frame carries nothing; every malformed message is
``bad_payload`` (never another exception); uplinks are checked."""

from __future__ import annotations

import random

import pytest

from avatar import codec as pose_codec
from rooms.errors import Reason, ValidationError
from server.gallery import codec
from server.motion import codec as motion_codec


def _posed(slot: int, x: float, seed: int) -> bytes:
    rnd = random.Random(seed)
    record = bytearray(pose_codec.POSE_SIZE)
    record[0] = 1
    record[17:] = bytes(rnd.randrange(256) for _ in range(52))
    entry = motion_codec.PLAIN_ENTRY
    import numpy as np

    plain = np.array([motion_codec.plain_entry(slot, x, 1.5, 0.3)], entry).tobytes()
    return plain + motion_codec.compact_pose(bytes(record))


def _plain(*entries: tuple[int, float, float, float]) -> bytes:
    import numpy as np

    return np.array([motion_codec.plain_entry(*e) for e in entries],
                    motion_codec.PLAIN_ENTRY).tobytes()  # fmt: skip


def _frame(**kw: object) -> bytes:
    args: dict[str, object] = dict(
        server_ms=123_456, crowd=812, posed=[_posed(3, -1.0, 1), _posed(7, 2.5, 2)],
        plain=_plain((40, 3.0, -4.0, 1.0), (41, -2.0, 6.5, -0.5)), n_plain=2,
        audio=[codec.AudioEntry(3, 960, 12, b"\xfc\xff\xfe"),
               codec.AudioEntry(3, 1920, 4, bytes(range(80)))])  # fmt: skip
    args.update(kw)
    return codec.encode_frame(9, **args)  # type: ignore[arg-type]


def test_a_frame_round_trips() -> None:
    frame = codec.decode(_frame())
    assert isinstance(frame, codec.Frame)
    assert (frame.seq, frame.closed, frame.server_ms, frame.crowd) == (9, False, 123_456, 812)
    assert [e.slot for e in frame.entries] == [3, 7, 40, 41]
    assert frame.entries[0].pose is not None and frame.entries[2].pose is None
    assert frame.entries[1].x == pytest.approx(2.5) and frame.entries[3].z == pytest.approx(6.5)
    assert frame.audio == [codec.AudioEntry(3, 960, 12, b"\xfc\xff\xfe"),
                           codec.AudioEntry(3, 1920, 4, bytes(range(80)))]  # fmt: skip


def test_a_closed_sessions_frame_carries_nothing() -> None:
    frame = codec.decode(_frame(closed=True))
    assert isinstance(frame, codec.Frame)
    assert frame.closed and frame.entries == [] and frame.audio == []


def test_state_round_trips() -> None:
    raw = codec.encode_state(4, {"t": "count", "viewers": 1200, "peak": 1500, "名": "傍聴"})
    assert raw[0] == codec.KIND_STATE
    assert codec.decode(raw) == {"t": "count", "viewers": 1200, "peak": 1500, "名": "傍聴"}
    with pytest.raises(ValueError):
        codec.encode_state(1, {"viewers": 1})


def test_every_cut_and_corruption_is_bad_payload() -> None:
    good = _frame()
    for n in range(len(good)):
        with pytest.raises(ValidationError) as cut:
            codec.decode(good[:n])
        assert cut.value.reason is Reason.BAD_PAYLOAD
    rnd = random.Random(7)
    for _ in range(2000):
        bad = bytearray(good)
        for _ in range(rnd.randint(1, 4)):
            bad[rnd.randrange(len(bad))] = rnd.randrange(256)
        try:
            codec.decode(bytes(bad))
        except ValidationError as exc:
            assert exc.reason is Reason.BAD_PAYLOAD
    for bad_state in (b"\x13\x00\x01\x00\x00\x00{", b"\x13\x00\x01\x00\x00\x00[1]",
                      b"\x13\x00\x01\x00\x00\x00\xff", b"\x99\x00\x00\x00\x00\x00"):  # fmt: skip
        with pytest.raises(ValidationError):
            codec.decode(bad_state)


def test_limits_when_encoding() -> None:
    with pytest.raises(ValueError):
        _frame(audio=[codec.AudioEntry(1, 0, 0, b"x")] * (codec.MAX_AUDIO + 1))
    with pytest.raises(ValueError):
        _frame(audio=[codec.AudioEntry(1, 0, 0, bytes(codec.MAX_PAYLOAD + 1))])
    with pytest.raises(ValueError):
        _frame(n_plain=3)


def test_uplinks() -> None:
    assert codec.decode_uplink('{"t":"hand","up":true}') == codec.Hand(True)
    assert codec.decode_uplink('{"t":"ask","name":" 佐藤 ","text":"質問"}') == codec.Ask(
        "佐藤", "質問", False
    )
    assert codec.decode_uplink('{"t":"ask","cancel":true}') == codec.Ask("", "", True)
    for bad, reason in ((b'{"t":"hand","up":true}', Reason.BAD_PAYLOAD),
                        ("not json", Reason.BAD_PAYLOAD), ("[]", Reason.BAD_PAYLOAD),
                        ('{"t":"vote"}', Reason.BAD_PAYLOAD),
                        ('{"t":"hand","up":1}', Reason.BAD_FIELD),
                        ('{"t":"ask","name":"' + "あ" * 41 + '"}', Reason.BAD_FIELD),
                        ('{"t":"hand","up":true,"x":"' + "a" * 600 + '"}',
                         Reason.BAD_PAYLOAD)):  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            codec.decode_uplink(bad)  # type: ignore[arg-type]
        assert refused.value.reason is reason, bad
