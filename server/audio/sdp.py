"""Asking a browser for mono speech Opus at ~20 kbps: pure SDP munging, no I/O.

The audio the server forwards keeps the bitrate the speaker's browser encodes it with,
so the server asks for speech settings where a browser listens for them: the Opus
``a=fmtp`` line of the *answer* it returns to the speaker's offer. Chromium and Firefox
configure their Opus encoder from the remote description's format parameters
(RFC 7587 section 7): ``maxaveragebitrate`` caps the average bitrate, ``stereo=0`` says the
receiver prefers mono, ``useinbandfec=1`` asks for in-band forward error correction (lost
packets on weak phone networks are recovered from the next one), ``minptime=10`` keeps
the browser's default packet time. aiortc writes none of them on its own.
"""

from __future__ import annotations

import re

#: Bitrates the server accepts to ask for (speech: 16–24 kbps).
MIN_SPEECH_BITRATE = 16_000
MAX_SPEECH_BITRATE = 24_000
DEFAULT_SPEECH_BITRATE = 20_000

_RTPMAP = re.compile(r"^a=rtpmap:(\d+) opus/48000(?:/\d+)?\s*$", re.IGNORECASE)
_FMTP = re.compile(r"^a=fmtp:(\d+) ?(.*)$")


def speech_fmtp(bitrate: int = DEFAULT_SPEECH_BITRATE) -> dict[str, str]:
    """The Opus format parameters Hiroba asks speakers to encode with."""
    if not MIN_SPEECH_BITRATE <= bitrate <= MAX_SPEECH_BITRATE:
        raise ValueError(
            f"speech bitrate {bitrate} outside {MIN_SPEECH_BITRATE}–{MAX_SPEECH_BITRATE} bit/s"
        )
    return {
        "minptime": "10",
        "useinbandfec": "1",
        "stereo": "0",
        "sprop-stereo": "0",
        "maxaveragebitrate": str(bitrate),
    }


def _parse_params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, _, value = part.partition("=")
        params[key.strip()] = value.strip()
    return params


def munge_opus_speech(sdp: str, bitrate: int = DEFAULT_SPEECH_BITRATE) -> str:
    """``sdp`` with every Opus payload type's fmtp set to mono speech at ``bitrate``.

    Other parameters of an existing fmtp line are kept (ours win on conflict); an Opus
    payload type without an fmtp line gets one right after its rtpmap. Line endings are
    preserved (CRLF as SDP requires, or LF). Idempotent.
    """
    wanted = speech_fmtp(bitrate)
    newline = "\r\n" if "\r\n" in sdp else "\n"
    lines = sdp.split(newline)
    opus_pts = {m.group(1) for line in lines if (m := _RTPMAP.match(line))}
    if not opus_pts:
        return sdp
    fmtps = [m.group(1) for line in lines if (m := _FMTP.match(line))]
    with_fmtp = {pt for pt in fmtps if pt in opus_pts}
    out: list[str] = []
    for line in lines:
        fmtp = _FMTP.match(line)
        if fmtp and fmtp.group(1) in opus_pts:
            params = _parse_params(fmtp.group(2)) | wanted
            out.append(f"a=fmtp:{fmtp.group(1)} " + ";".join(f"{k}={v}" for k, v in params.items()))
            continue
        out.append(line)
        rtpmap = _RTPMAP.match(line)
        if rtpmap and rtpmap.group(1) not in with_fmtp:
            out.append(
                f"a=fmtp:{rtpmap.group(1)} " + ";".join(f"{k}={v}" for k, v in wanted.items())
            )
    return newline.join(out)


def opus_fmtp(sdp: str) -> dict[str, dict[str, str]]:
    """Opus payload type → its fmtp parameters (for tests and diagnostics)."""
    lines = sdp.splitlines()
    opus_pts = {m.group(1) for line in lines if (m := _RTPMAP.match(line))}
    found: dict[str, dict[str, str]] = {pt: {} for pt in opus_pts}
    for line in lines:
        fmtp = _FMTP.match(line)
        if fmtp and fmtp.group(1) in opus_pts:
            found[fmtp.group(1)] = _parse_params(fmtp.group(2))
    return found
