"""A WebSocket client cheap enough to run hundreds of in one bench process.

The load clients of ``bench motion`` share the two cores with the server they measure; a
full client library (``websockets``: a frame object, a queue entry and a task wake-up per
message) costs more than the server's own work per frame. This one is an asyncio
``Protocol`` with the RFC 6455 framing written out:

- the opening handshake (HTTP/1.1 Upgrade, ``Sec-WebSocket-Accept`` checked);
- client-to-server frames masked as §5.3 requires (one random mask per connection, which
  the RFC allows: it must be unpredictable to the network, not to the server), built with
  :func:`client_frame`;
- server-to-client frames walked header by header (:class:`FrameWalker`): binary frames are
  counted, their payload skipped unread except byte 1 of the motion frame (its ``delay``,
  docs/protocol.md) when the caller wants the tick's phase; text and control frames (the
  token's ``ok``, pings, close) are read whole and handed to :meth:`FrameWalker.on_message`.

No extensions (the server must not negotiate compression), no fragmented messages sent.
Cross-checked against the ``websockets`` library's own framing in
``tests/unit/test_bench_ws_framing.py``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import Callable
from urllib.parse import urlparse

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class FramingError(Exception):
    """The peer broke RFC 6455 (or spoke something else)."""


def apply_mask(data: bytes, mask: bytes) -> bytes:
    """``data`` XOR the 4-byte ``mask`` repeated (§5.3; the same call unmasks)."""
    n = len(data)
    if not n:
        return b""
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")


def frame_header(opcode: int, length: int, masked: bool, fin: bool = True) -> bytes:
    """The 2-10 byte header (without the mask key) of one frame, the shortest length
    encoding (§5.2)."""
    if length < 0:
        raise ValueError("a frame's length cannot be negative")
    b0 = (0x80 if fin else 0) | opcode
    m = 0x80 if masked else 0
    if length < 126:
        return bytes((b0, m | length))
    if length < 1 << 16:
        return bytes((b0, m | 126)) + length.to_bytes(2, "big")
    return bytes((b0, m | 127)) + length.to_bytes(8, "big")


def client_frame(payload: bytes, mask: bytes, opcode: int = OP_BINARY) -> bytes:
    """One complete, final, masked client-to-server frame of ``payload``."""
    if len(mask) != 4:
        raise ValueError("the mask is 4 bytes")
    return frame_header(opcode, len(payload), True) + mask + apply_mask(payload, mask)


class FrameWalker:
    """Walks a server's (unmasked) frame stream chunk by chunk.

    ``frames`` and ``payload_bytes`` count the binary frames (and their payload bytes)
    seen so far; ``delay`` is byte 1 of the payload of the latest binary frame whose first
    two bytes were in the chunk just fed (-1 when none was). Other frames are delivered
    whole to :meth:`on_message`. A frame split across chunks costs nothing extra unless its
    header is split (then the few bytes are kept for the next chunk).
    """

    def __init__(self) -> None:
        self.frames = 0
        self.payload_bytes = 0
        self.delay = -1
        self._skip = 0  # payload bytes of the current binary frame still to come
        self._pending = b""  # the start of a frame whose header (or control payload) is split

    def on_message(self, opcode: int, payload: bytes) -> None:
        """A text, close, ping or pong frame (override)."""

    def feed(self, data: bytes) -> None:
        self.delay = -1
        if self._pending:
            data = self._pending + data
            self._pending = b""
        n = len(data)
        pos = self._skip
        if pos >= n:
            self._skip = pos - n
            return
        self._skip = 0
        frames = 0
        nbytes = 0
        while pos < n:
            if n - pos < 2:
                self._pending = data[pos:]
                break
            b0 = data[pos]
            b1 = data[pos + 1]
            if b1 & 0x80:
                raise FramingError("a server's frame is never masked (RFC 6455 5.1)")
            if b0 & 0x70:
                raise FramingError("no extension was negotiated: RSV bits must be 0")
            length = b1 & 0x7F
            start = pos + 2
            if length == 126:
                if n - pos < 4:
                    self._pending = data[pos:]
                    break
                length = int.from_bytes(data[pos + 2 : pos + 4], "big")
                start = pos + 4
            elif length == 127:
                if n - pos < 10:
                    self._pending = data[pos:]
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                start = pos + 10
            opcode = b0 & 0x0F
            if opcode in (OP_BINARY, OP_CONT):
                frames += 1
                nbytes += length
                if opcode == OP_BINARY and start + 1 < n:
                    self.delay = data[start + 1]
                pos = start + length
                if pos > n:
                    self._skip = pos - n
                    break
            else:
                end = start + length
                if end > n:
                    self._pending = data[pos:]
                    break
                self.on_message(opcode, data[start:end])
                pos = end
        self.frames += frames
        self.payload_bytes += nbytes


class LiteWebSocket(FrameWalker, asyncio.Protocol):
    """One client connection: handshake, masked sends, counted receives.

    ``on_delay(arrival, delay_ms)`` (when set) is called once per chunk that held a binary
    frame's delay byte, with the loop's time at arrival.
    """

    def __init__(self, host: str, path: str) -> None:
        super().__init__()
        self.host = host
        self.path = path
        self.mask = os.urandom(4)
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.upgraded: asyncio.Future[None] = loop.create_future()
        self.texts: asyncio.Queue[str] = asyncio.Queue()
        self.closed: asyncio.Future[int | None] = loop.create_future()
        self._head = b""
        self._key = base64.b64encode(os.urandom(16))
        self._prefix: dict[int, tuple[bytes, int]] = {}
        self.on_delay: Callable[[float, int], None] | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            b"GET " + self.path.encode() + b" HTTP/1.1\r\nHost: " + self.host.encode()
            + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
            + self._key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > 16384:
                    self._fail(FramingError("no end to the handshake's response"))
                return
            head, data = self._head[:end], self._head[end + 4 :]
            self._head = b""
            try:
                self._check_upgrade(head)
            except FramingError as e:
                self._fail(e)
                return
            self.upgraded.set_result(None)
            if not data:
                return
        try:
            self.feed(data)
        except FramingError as e:
            self._fail(e)
            return
        if self.delay >= 0 and self.on_delay is not None:
            self.on_delay(self._loop.time(), self.delay)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def on_message(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_TEXT:
            self.texts.put_nowait(payload.decode())
        elif opcode == OP_PING:
            self.send(payload, OP_PONG)
        elif opcode == OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            if not self.closed.done():
                self.closed.set_result(code)
            self.send(payload[:2], OP_CLOSE)
            if self.transport is not None:
                self.transport.close()

    # -- the caller's side
    def send(self, payload: bytes, opcode: int = OP_BINARY) -> None:
        """Write ``payload`` as one masked frame (nothing once the connection is closing)."""
        t = self.transport
        if t is None or t.is_closing():
            return
        n = len(payload)
        cached = self._prefix.get(n * 16 + opcode)
        if cached is None:
            # The header and mask key, and the mask repeated to the payload's length, are
            # the same for every message of one length: built once.
            key = int.from_bytes((self.mask * (n // 4 + 1))[:n], "big") if n else 0
            cached = (frame_header(opcode, n, True) + self.mask, key)
            self._prefix[n * 16 + opcode] = cached
        prefix, key = cached
        body = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
        t.write(prefix + body)

    def close(self, code: int = 1000) -> None:
        self.send(code.to_bytes(2, "big"), OP_CLOSE)
        if self.transport is not None:
            self.transport.close()

    def _check_upgrade(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise FramingError(f"the server refused the upgrade: {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        want = base64.b64encode(hashlib.sha1(self._key + _GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise FramingError("wrong Sec-WebSocket-Accept")
        if headers.get("sec-websocket-extensions"):
            raise FramingError("an extension was negotiated that this client does not do")

    def _fail(self, error: Exception) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(error)
        if self.transport is not None:
            self.transport.abort()


async def connect(ws_url: str, within: float = 30.0) -> LiteWebSocket:
    """Open ``ws://host:port/path`` (plain TCP only) and complete the handshake."""
    url = urlparse(ws_url)
    if url.scheme != "ws" or url.hostname is None:
        raise ValueError("only ws:// URLs")
    port = url.port or 80
    path = url.path + (f"?{url.query}" if url.query else "")
    loop = asyncio.get_running_loop()
    proto: LiteWebSocket | None = None

    def made() -> LiteWebSocket:
        nonlocal proto
        proto = LiteWebSocket(f"{url.hostname}:{port}", path or "/")
        return proto

    await asyncio.wait_for(loop.create_connection(made, url.hostname, port), within)
    assert proto is not None
    try:
        await asyncio.wait_for(asyncio.shield(proto.upgraded), within)
    except BaseException:
        if proto.transport is not None:
            proto.transport.abort()
        raise
    return proto
