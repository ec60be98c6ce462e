"""The server-side WebSocket frame reader of /motion (server/common/wsread.py): masked
frames however the bytes are split, control frames, and every malformed frame refused
with its close code, against frames built by the `websockets` library's own encoder."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from server.common.wsread import (
    CLOSE_PROTOCOL_ERROR,
    CLOSE_TOO_BIG,
    ClientFrameReader,
    close_frame,
    unmask,
)


class Record:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def on_binary(self, payload: bytes) -> None:
        self.events.append(("binary", payload))

    def on_text(self, payload: bytes) -> None:
        self.events.append(("text", payload))

    def on_ping(self, payload: bytes) -> None:
        self.events.append(("ping", payload))

    def on_pong(self) -> None:
        self.events.append(("pong", None))

    def on_close(self, code: int | None) -> None:
        self.events.append(("close", code))

    def on_protocol_error(self, code: int, why: str) -> None:
        self.events.append(("error", code))

    def on_eof(self) -> None:
        self.events.append(("eof", None))


def client_frame(opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
    """A masked client frame as the `websockets` library writes it."""
    return Frame(opcode, payload, fin=fin).serialize(mask=True, extensions=[])


def reader(max_payload: int = 200) -> tuple[ClientFrameReader, Record]:
    record = Record()
    return ClientFrameReader(record, max_payload), record


@settings(max_examples=200, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=200), min_size=1, max_size=8),
    cuts=st.lists(st.integers(0, 2000), max_size=12),
)
def test_masked_frames_however_the_bytes_are_split(payloads: list[bytes], cuts: list[int]) -> None:
    wire = b"".join(client_frame(Opcode.BINARY, p) for p in payloads)
    r, record = reader()
    at = 0
    for cut in [*sorted({c % (len(wire) + 1) for c in cuts}), len(wire)]:
        assert r.feed_data(wire[at:cut]) == (False, b"")
        at = cut
    assert record.events == [("binary", p) for p in payloads]


def test_sixteen_bit_lengths_and_the_limit() -> None:
    r, record = reader(max_payload=300)
    r.feed_data(client_frame(Opcode.BINARY, b"x" * 300))
    assert record.events == [("binary", b"x" * 300)]
    r, record = reader(max_payload=300)
    r.feed_data(client_frame(Opcode.BINARY, b"x" * 301)[:8])  # the header is enough
    assert record.events == [("error", CLOSE_TOO_BIG)]


def test_control_frames_and_text() -> None:
    r, record = reader()
    r.feed_data(client_frame(Opcode.PING, b"hi") + client_frame(Opcode.PONG, b"")
                + client_frame(Opcode.TEXT, "トークン".encode()))
    r.feed_data(client_frame(Opcode.CLOSE, (4001).to_bytes(2, "big") + b"bye"))
    r.feed_data(client_frame(Opcode.BINARY, b"after close"))  # nothing after a close
    assert record.events == [("ping", b"hi"), ("pong", None), ("text", "トークン".encode()),
                             ("close", 4001)]
    r, record = reader()
    r.feed_data(client_frame(Opcode.CLOSE, b""))
    r.feed_eof()
    assert record.events == [("close", None), ("eof", None)]


@pytest.mark.parametrize("wire, code", [
    (Frame(Opcode.BINARY, b"abc").serialize(mask=False, extensions=[]), CLOSE_PROTOCOL_ERROR),
    (bytes((0x82 | 0x40, 0x80)) + os.urandom(4), CLOSE_PROTOCOL_ERROR),  # RSV1: no extension
    (client_frame(Opcode.BINARY, b"part", fin=False), CLOSE_PROTOCOL_ERROR),
    (client_frame(Opcode.CONT, b"more"), CLOSE_PROTOCOL_ERROR),
    (bytes((0x83, 0x80)) + os.urandom(4), CLOSE_PROTOCOL_ERROR),  # reserved opcode 3
    (bytes((0x89, 0x80 | 126)) + (200).to_bytes(2, "big") + os.urandom(4 + 200),
     CLOSE_PROTOCOL_ERROR),  # a ping over 125 bytes
    (bytes((0x09, 0x80)) + os.urandom(4), CLOSE_PROTOCOL_ERROR),  # a fragmented ping
    (bytes((0x82, 0x80 | 127)) + (1 << 20).to_bytes(8, "big"), CLOSE_TOO_BIG),
])
def test_malformed_frames_are_refused_once_and_nothing_after(wire: bytes, code: int) -> None:
    r, record = reader()
    r.feed_data(client_frame(Opcode.BINARY, b"before") + wire)
    r.feed_data(client_frame(Opcode.BINARY, b"after"))
    assert record.events == [("binary", b"before"), ("error", code)]


@given(st.binary(max_size=100), st.binary(min_size=4, max_size=4))
def test_unmask_is_the_repeated_xor(payload: bytes, key: bytes) -> None:
    assert unmask(payload, key) == bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def test_close_frame_layout() -> None:
    frame = close_frame(4400, b"malformed motion data")
    assert frame[0] == 0x88 and frame[1] == len(frame) - 2
    assert int.from_bytes(frame[2:4], "big") == 4400 and frame[4:] == b"malformed motion data"
    assert len(close_frame(1000, b"x" * 300)) == 2 + 125
