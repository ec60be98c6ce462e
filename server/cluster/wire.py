"""Short length-prefixed strings, the ids in the cluster's binary messages."""

from __future__ import annotations


def put_short(out: bytearray, text: str) -> None:
    """Append ``text`` as one length byte and its UTF-8 (room and participant ids)."""
    raw = text.encode()
    out += bytes((len(raw),)) + raw


def take_short(data: bytes, at: int) -> tuple[str, int]:
    """The string at ``at`` and the offset after it (IndexError, UnicodeDecodeError)."""
    n = data[at]
    end = at + 1 + n
    if end > len(data):
        raise IndexError("string runs past the message")
    return data[at + 1 : end].decode(), end
