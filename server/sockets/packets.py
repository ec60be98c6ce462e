"""socket.io packets as the server decodes them: bounded, and never an exception.

python-socketio decodes a client's packet before any handler of ours runs, and an
undecodable one (malformed JSON, JSON nested deeper than the interpreter's recursion
limit, an unknown packet type, a binary placeholder pointing nowhere) raised inside the
library: a traceback in the log for every such packet, and nothing told the client. With
:class:`GuardedPacket` as the server's ``serializer`` such a packet is read as the client
leaving the namespace: the socket is closed, as for an over-long message, and one warning
line is logged. Payloads nested deeper than :data:`MAX_DEPTH` are refused the same way;
no Hiroba message is nested more than a few levels.
"""

from __future__ import annotations

import logging
from typing import Any

from socketio import packet

from rooms.errors import Reason, ValidationError

log = logging.getLogger(__name__)


def _bad(message: str) -> ValidationError:
    return ValidationError(Reason.BAD_PAYLOAD, message)

#: Deepest nesting of lists and objects a client's payload may have.
MAX_DEPTH = 32
#: Packet types a client may send (CONNECT_ERROR is the server's alone).
_CLIENT_TYPES = frozenset({packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK,
                           packet.BINARY_EVENT, packet.BINARY_ACK})


def check_payload(data: object, attachments: int) -> None:
    """Raise ``ValidationError(bad_payload)`` if ``data`` nests deeper than :data:`MAX_DEPTH`
    or holds a binary placeholder that is not one of its ``attachments``. Iterative, so
    that it cannot itself run out of stack."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, list):
            children: list[Any] = value
        elif isinstance(value, dict):
            if value.get("_placeholder") is True and "num" in value:
                num = value["num"]
                if not (isinstance(num, int) and not isinstance(num, bool)
                        and 0 <= num < attachments):
                    raise _bad("a binary placeholder names no attachment")
            children = list(value.values())
        else:
            continue
        if depth > MAX_DEPTH:
            raise _bad(f"the payload is nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


class GuardedPacket(packet.Packet):  # type: ignore[misc]
    """The server's socket.io packet class (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        encoded = kwargs.get("encoded_packet")
        if encoded is not None and not encoded:
            # An empty message: python-socketio skips decoding it and would dispatch an
            # event without a name. Nothing a client sends is empty.
            self._refuse("an empty packet")

    def decode(self, encoded_packet: Any) -> int:
        try:
            attachments = int(super().decode(encoded_packet) or 0)
            # (getattr: python-socketio sets these untyped, in decode itself)
            kind: object = getattr(self, "packet_type", None)
            if kind not in _CLIENT_TYPES:
                raise _bad(f"packet type {kind!r} is not a client's")
            data: object = getattr(self, "data", None)
            check_payload(data, attachments)
            return attachments
        except ValidationError as exc:
            self._refuse(exc.message)
        except (ValueError, TypeError, RecursionError) as exc:
            self._refuse(type(exc).__name__)
        return 0

    def _refuse(self, why: str) -> None:
        """Read this packet as the client leaving the default namespace: the server ends
        the socket and runs its disconnect handler, like any other departure."""
        log.warning("closing a socket that sent an undecodable packet: %s", why)
        self.packet_type = packet.DISCONNECT
        self.namespace = None
        self.id = None
        self.data = None
