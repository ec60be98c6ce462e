"""Asking browsers for mono speech Opus: the SDP munging is a pure function."""

from __future__ import annotations

import pytest

from server.audio.sdp import munge_opus_speech, opus_fmtp, speech_fmtp

ANSWER = "\r\n".join([
    "v=0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 96 0 8",
    "a=rtpmap:96 opus/48000/2",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "",
])  # fmt: skip


def test_adds_fmtp_after_rtpmap_when_missing() -> None:
    out = munge_opus_speech(ANSWER)
    lines = out.split("\r\n")
    at = lines.index("a=rtpmap:96 opus/48000/2")
    assert lines[at + 1].startswith("a=fmtp:96 ")
    assert opus_fmtp(out)["96"] == {
        "minptime": "10", "useinbandfec": "1", "stereo": "0", "sprop-stereo": "0",
        "maxaveragebitrate": "20000",
    }  # fmt: skip
    assert out.endswith("\r\n") and "\n" not in out.replace("\r\n", "")


def test_existing_fmtp_is_merged_ours_winning() -> None:
    sdp = ANSWER.replace("a=rtpmap:0 PCMU/8000", "a=fmtp:96 stereo=1;cbr=1\r\na=rtpmap:0 PCMU/8000")
    out = munge_opus_speech(sdp, 16_000)
    params = opus_fmtp(out)["96"]
    assert params["stereo"] == "0" and params["cbr"] == "1"
    assert params["maxaveragebitrate"] == "16000"
    assert out.count("a=fmtp:96") == 1


def test_idempotent_lf_and_no_opus() -> None:
    once = munge_opus_speech(ANSWER.replace("\r\n", "\n"))
    assert munge_opus_speech(once) == once and "\r" not in once
    no_opus = "v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    assert munge_opus_speech(no_opus) == no_opus


def test_other_payload_types_untouched() -> None:
    sdp = ANSWER.replace("a=rtpmap:8 PCMA/8000", "a=rtpmap:8 PCMA/8000\r\na=fmtp:8 x=1")
    assert "a=fmtp:8 x=1" in munge_opus_speech(sdp)


@pytest.mark.parametrize("bitrate", [8_000, 15_999, 24_001, 96_000])
def test_only_speech_bitrates(bitrate: int) -> None:
    with pytest.raises(ValueError):
        speech_fmtp(bitrate)
