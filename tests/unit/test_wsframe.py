"""Pre-built WebSocket binary frames (server/common/wsframe.py), read back by the
``websockets`` library's own frame parser."""

from __future__ import annotations

from collections.abc import Generator

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from server.common.wsframe import binary_frame, binary_header


def parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser: Generator[None, None, Frame] = Frame.parse(
        reader.read_exact, mask=False, max_size=None)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("the frame was incomplete")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70_000])
def test_a_frame_parses_back_to_its_payload(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    frame = parse(binary_frame(data))
    assert frame.opcode is Opcode.BINARY and frame.fin and frame.data == data
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)


def test_the_shortest_length_encoding_is_used() -> None:
    # RFC 6455 5.2: the minimal number of bytes MUST be used for the length.
    assert len(binary_header(125)) == 2
    assert len(binary_header(126)) == len(binary_header(65535)) == 4
    assert len(binary_header(65536)) == 10
    with pytest.raises(ValueError):
        binary_header(-1)
