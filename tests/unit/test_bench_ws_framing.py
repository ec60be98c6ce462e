"""The bench's hand-written WebSocket framing (bench/clients/ws_lite.py) against the
``websockets`` library's: frames it makes parse in websockets as masked client frames
with the same payload, and a stream websockets makes as a server is counted frame by
frame whatever the chunking."""

from __future__ import annotations

import random
from collections.abc import Generator

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from bench.clients.ws_lite import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    FrameWalker,
    FramingError,
    apply_mask,
    client_frame,
)


def parse_all(data: bytes, *, mask: bool) -> list[Frame]:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while reader.buffer:
        parser: Generator[None, None, Frame] = Frame.parse(
            reader.read_exact, mask=mask, max_size=None)
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
            continue
        raise AssertionError("the frame was incomplete")
    return frames


SIZES = [0, 1, 2, 7, 8, 77, 125, 126, 127, 65535, 65536, 70_000]


@pytest.mark.parametrize("size", SIZES)
def test_our_masked_frames_parse_in_websockets(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    mask = bytes((0x37, 0xFA, 0x21, 0x3D))
    made = client_frame(data, mask)
    (frame,) = parse_all(made, mask=True)  # a server's parser: the mask bit is required
    assert frame.opcode is Opcode.BINARY and frame.fin and frame.data == data
    if size >= 4:
        assert made[-size:] != data, "the payload went out unmasked"
    with pytest.raises(Exception):  # noqa: B017 - websockets' own error for a masked frame
        parse_all(made, mask=False)


def test_masking_is_its_own_inverse_and_matches_websockets() -> None:
    from websockets.frames import apply_mask as ws_mask

    rng = random.Random(3)
    for n in (0, 1, 3, 4, 5, 69, 77, 1000):
        data, mask = rng.randbytes(n), rng.randbytes(4)
        assert apply_mask(data, mask) == ws_mask(data, mask)
        assert apply_mask(apply_mask(data, mask), mask) == data


def test_text_and_control_frames_parse_in_websockets() -> None:
    mask = b"\x01\x02\x03\x04"
    stream = (client_frame("トークン".encode(), mask, OP_TEXT)
              + client_frame(b"hi", mask, 0xA) + client_frame(b"\x03\xe8", mask, OP_CLOSE))
    text, pong, close = parse_all(stream, mask=True)
    assert (text.opcode, text.data) == (Opcode.TEXT, "トークン".encode())
    assert (pong.opcode, pong.data) == (Opcode.PONG, b"hi")
    assert (close.opcode, close.data) == (Opcode.CLOSE, b"\x03\xe8")


class Recorder(FrameWalker):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[int, bytes]] = []
        self.delays: list[int] = []

    def on_message(self, opcode: int, payload: bytes) -> None:
        self.messages.append((opcode, payload))

    def feed(self, data: bytes) -> None:
        super().feed(data)
        if self.delay >= 0:
            self.delays.append(self.delay)


def server_stream(rng: random.Random) -> tuple[bytes, list[bytes]]:
    """What a websockets server writes: binary frames of every length class (byte 1 of
    each, the motion frame's delay, is its index) and a ping and a text among them."""
    payloads = []
    out = b""
    for i, size in enumerate([10, 490, 125, 126, 300, 65535, 65536, 2, 70_000, 12]):
        payload = bytes((1, i)) + rng.randbytes(size - 2)
        payloads.append(payload)
        out += Frame(Opcode.BINARY, payload).serialize(mask=False)
        if i == 3:
            out += Frame(Opcode.PING, b"are you there").serialize(mask=False)
        if i == 5:
            out += Frame(Opcode.TEXT, b"ok").serialize(mask=False)
    return out, payloads


@pytest.mark.parametrize("chunk", [1, 2, 3, 9, 100, 1500, 65536, 1 << 20])
def test_a_websockets_stream_is_counted_in_any_chunking(chunk: int) -> None:
    rng = random.Random(chunk)
    stream, payloads = server_stream(rng)
    walker = Recorder()
    for at in range(0, len(stream), chunk):
        walker.feed(stream[at : at + chunk])
    assert walker.frames == len(payloads)
    assert walker.payload_bytes == sum(map(len, payloads))
    assert walker.messages == [(OP_PING, b"are you there"), (OP_TEXT, b"ok")]
    # Each delay byte read is a frame's own (never a stray payload byte), in order.
    assert walker.delays == sorted(walker.delays)
    assert set(walker.delays) <= set(range(len(payloads)))
    if chunk >= 1 << 20:
        assert walker.delays == [len(payloads) - 1]  # one chunk: the latest frame's


def test_random_chunking_agrees_with_websockets_parser() -> None:
    rng = random.Random(7)
    stream, payloads = server_stream(rng)
    assert [f.data for f in parse_all(stream, mask=False) if f.opcode is Opcode.BINARY] \
        == payloads
    for _ in range(50):
        walker = Recorder()
        at = 0
        while at < len(stream):
            step = rng.choice((1, 2, 5, 64, 700, 5000, 70_000))
            walker.feed(stream[at : at + step])
            at += step
        assert (walker.frames, walker.payload_bytes) == (len(payloads),
                                                         sum(map(len, payloads)))
        assert len(walker.messages) == 2


def test_a_masked_or_extended_server_frame_is_refused() -> None:
    masked = Frame(Opcode.BINARY, b"abcd").serialize(mask=True)
    with pytest.raises(FramingError):
        FrameWalker().feed(masked)
    rsv = bytearray(Frame(Opcode.BINARY, b"abcd").serialize(mask=False))
    rsv[0] |= 0x40
    with pytest.raises(FramingError):
        FrameWalker().feed(bytes(rsv))


def test_a_binary_frame_is_counted_not_delivered() -> None:
    walker = Recorder()
    walker.feed(Frame(Opcode.BINARY, b"\x01\x05rest").serialize(mask=False))
    assert (walker.frames, walker.payload_bytes, walker.delays, walker.messages) == (
        1, 6, [5], [])
    assert (Opcode.BINARY.value, Opcode.PING.value) == (OP_BINARY, OP_PING)
