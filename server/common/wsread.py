"""Reading a client's WebSocket frames (RFC 6455) straight from the connection's bytes.

aiohttp reads a WebSocket message by parsing it, queueing it and waking the handler's
task, which then takes it from the queue: at 10,000 small uplinks a second on ``/motion``
that wake-up and queue are most of the receive path's cost. A connection that only ever
gets small, whole messages can instead have its bytes parsed where they arrive (the
protocol's ``data_received``) and each message handed to a callback at once, no task and
no queue: :class:`ClientFrameReader`, installed over aiohttp's own reader after the
handshake (:func:`take_over_reading`).

It accepts what browsers send for such messages: masked frames (RFC 6455 5.3), no
extension (the connection is opened with compression off), whole data messages (FIN set;
a fragmented one is refused: no browser fragments a message of a few dozen bytes), and
the control frames. Anything else is a protocol error, reported once with the close code
to use (1002, or 1009 for a message over the limit); nothing is parsed after it.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

from aiohttp import web

OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_TOO_BIG = 1009

_LEN16 = struct.Struct("!H")
_CODE = struct.Struct("!H")
#: Control frames carry at most 125 bytes (RFC 6455 5.5).
_MAX_CONTROL = 125


class FrameSink(Protocol):
    """What a :class:`ClientFrameReader` tells, in the order the frames arrived."""

    def on_binary(self, payload: bytes) -> None: ...

    def on_text(self, payload: bytes) -> None: ...

    def on_ping(self, payload: bytes) -> None: ...

    def on_pong(self) -> None: ...

    def on_close(self, code: int | None) -> None:
        """The client began the closing handshake (``code``: its status, if it gave one)."""
        ...

    def on_protocol_error(self, code: int, why: str) -> None: ...

    def on_eof(self) -> None:
        """The connection is gone."""
        ...


def unmask(payload: bytes, key: bytes) -> bytes:
    """``payload`` XOR the repeated 4-byte ``key``, as one big-integer operation (a Python
    loop over the bytes costs about ten times as much at 77 bytes)."""
    n = len(payload)
    if n == 0:
        return b""
    keys = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(keys, "little")).to_bytes(
        n, "little")


class ClientFrameReader:
    """Parses the bytes a client sends into frames for a :class:`FrameSink`.

    It has the interface aiohttp's request handler feeds an upgraded connection's bytes
    to (``feed_data`` returning ``(eof, tail)``, ``feed_eof``). ``max_payload``: the
    largest data message taken (larger: 1009).
    """

    def __init__(self, sink: FrameSink, max_payload: int) -> None:
        self.sink = sink
        self.max_payload = max_payload
        self._pending = b""
        self._failed = False
        self._closed = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self._failed or self._closed:
            return False, b""
        buf = self._pending + data if self._pending else data
        at = 0
        end = len(buf)
        sink = self.sink
        while end - at >= 2:
            b0 = buf[at]
            b1 = buf[at + 1]
            opcode = b0 & 0x0F
            if b0 & 0x70:
                return self._fail(CLOSE_PROTOCOL_ERROR, "reserved bits set (no extension)")
            if not b1 & 0x80:
                return self._fail(CLOSE_PROTOCOL_ERROR, "a client frame must be masked")
            n = b1 & 0x7F
            head = 2
            if n == 126:
                if end - at < 4:
                    break
                n = _LEN16.unpack_from(buf, at + 2)[0]
                head = 4
            elif n == 127:
                return self._fail(CLOSE_TOO_BIG, "message too big")
            control = opcode >= OP_CLOSE
            if control and (n > _MAX_CONTROL or not b0 & 0x80):
                return self._fail(CLOSE_PROTOCOL_ERROR, "malformed control frame")
            if not control and n > self.max_payload:
                return self._fail(CLOSE_TOO_BIG, "message too big")
            total = head + 4 + n
            if end - at < total:
                break
            key = buf[at + head : at + head + 4]
            payload = unmask(buf[at + head + 4 : at + total], key)
            at += total
            if opcode in (OP_BINARY, OP_TEXT):
                if not b0 & 0x80:
                    return self._fail(CLOSE_PROTOCOL_ERROR, "fragmented messages are not taken")
                if opcode == OP_BINARY:
                    sink.on_binary(payload)
                else:
                    sink.on_text(payload)
            elif opcode == OP_PING:
                sink.on_ping(payload)
            elif opcode == OP_PONG:
                sink.on_pong()
            elif opcode == OP_CLOSE:
                self._closed = True
                code = _CODE.unpack_from(payload)[0] if len(payload) >= 2 else None
                sink.on_close(code)
                return False, b""
            else:  # a continuation with nothing to continue, or a reserved opcode
                return self._fail(CLOSE_PROTOCOL_ERROR, f"unexpected opcode {opcode}")
            if self._failed or self._closed:  # the sink ended the connection
                return False, b""
        self._pending = buf[at:] if at < end else b""
        return False, b""

    def feed_eof(self) -> None:
        self._closed = True
        self.sink.on_eof()

    def stop(self) -> None:
        """Parse nothing more (the connection is being closed from this side)."""
        self._closed = True

    def _fail(self, code: int, why: str) -> tuple[bool, bytes]:
        self._failed = True
        self._pending = b""
        self.sink.on_protocol_error(code, why)
        return False, b""


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    """An unmasked server control frame (payload at most 125 bytes)."""
    payload = payload[:_MAX_CONTROL]
    return bytes((0x80 | opcode, len(payload))) + payload


def close_frame(code: int, reason: bytes = b"") -> bytes:
    """An unmasked close frame with a status ``code`` and a short ``reason``."""
    return control_frame(OP_CLOSE, _CODE.pack(code) + reason[: _MAX_CONTROL - 2])


def take_over_reading(request: web.Request, reader: ClientFrameReader) -> None:
    """Feed the upgraded connection's bytes to ``reader`` from now on, instead of to
    aiohttp's WebSocket reader.

    Call it after ``WebSocketResponse.prepare`` and after the last message read through
    aiohttp, at a point where the client has nothing more in flight (``/motion``: after the
    token and before the ``ok`` the client waits for); bytes aiohttp had already taken stay
    with it. This uses aiohttp's request handler's parser slot (``set_parser``, the way
    aiohttp installs its own reader), checked by tests/integration/test_motion_raw_reader.py.
    """
    protocol: Any = request.protocol
    protocol._payload_parser = None
    protocol.set_parser(reader)
