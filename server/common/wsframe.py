"""Pre-built WebSocket binary frames (RFC 6455), for writing straight to a transport.

A server that sends the same kind of small binary message to hundreds of sockets every
tick spends most of it in the WebSocket library's per-message path (an awaited
``send_bytes``: a frame built, a drain check, a coroutine per receiver). A server-to-client
frame is simple: unmasked (RFC 6455 §5.1), FIN set, opcode 2, and the payload length in 7,
16 or 64 bits. :func:`binary_frame` builds it so the caller can hand it to
``asyncio.Transport.write`` with no await.

Only for a connection that negotiated no extension (no permessage-deflate: open it with
compression off), and only on the event loop's thread, between whole frames (asyncio
transports are not thread-safe; a frame written whole never interleaves with the library's
own frames, which it also writes whole).
"""

from __future__ import annotations

import struct

#: FIN + opcode 0x2 (binary).
_FIN_BINARY = 0x82
_LEN16 = struct.Struct("!BBH")
_LEN64 = struct.Struct("!BBQ")


def binary_header(length: int) -> bytes:
    """The 2-10 byte header of an unmasked, final binary frame of ``length`` bytes."""
    if length < 0:
        raise ValueError("a frame's length cannot be negative")
    if length < 126:
        return bytes((_FIN_BINARY, length))
    if length < 1 << 16:
        return _LEN16.pack(_FIN_BINARY, 126, length)
    return _LEN64.pack(_FIN_BINARY, 127, length)


#: The headers of every frame short enough for the 7-bit length, made once.
_SHORT = tuple(bytes((_FIN_BINARY, n)) for n in range(126))


def binary_frame(payload: bytes | bytearray | memoryview) -> bytes:
    """``payload`` as one complete unmasked binary frame, header included."""
    n = len(payload)
    return (_SHORT[n] if n < 126 else binary_header(n)) + payload
