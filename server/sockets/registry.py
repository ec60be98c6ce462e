"""The one way a feature puts its socket events on the server: ``bind(register)``.

Every socket-facing component (the plaza's join, leave and move, the meetings' events,
recording, audio, face tracking, the motion data channel) has a ``bind(register)`` method
that calls ``register(event, handler)`` once per event. :func:`registrar` builds that
``register`` for a python-socketio server: each handler runs behind :func:`guard`, which
finds the socket's session, spends a token of its rate limit (the control-event bucket
unless the feature names another with ``bucket_of``) and turns every error into the
``{"ok": false, "reason", "message"}`` acknowledgement (docs/protocol.md). A component
therefore never sees socket ids, never imports another feature's API to reach the guard,
and tests can bind it to any callable with this shape.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import socketio

from moderation.rate_limit import TokenBucket
from rooms.errors import HirobaError, Reason
from server.sockets.hub import Hub, Session

log = logging.getLogger(__name__)

#: A socket event's acknowledgement (python-socketio sends it to clients that asked).
Ack = dict[str, Any]
#: An event handler: the sender's session and the raw payload in, the ack out.
Handler = Callable[[Session, object], Awaitable[Ack]]
#: Which of the session's rate limits an event spends.
BucketOf = Callable[[Session], TokenBucket]


def events_bucket(session: Session) -> TokenBucket:
    """The control-event bucket (the default)."""
    return session.events


def moves_bucket(session: Session) -> TokenBucket:
    """The position-upload bucket (``move``, a frequent event of its own)."""
    return session.moves


def poses_bucket(session: Session) -> TokenBucket:
    """The pose-upload bucket (``pose``, up to the camera's frame rate)."""
    return session.poses


def offers_bucket(session: Session) -> TokenBucket:
    """The WebRTC-offer bucket (``audio:publish``, ``audio:listen``, ``motion:offer``,
    ``rtc:offer``): each offer builds a peer connection, so a socket may send a few, not
    the control events' 30 a second. Spent before the payload or its SDP is read."""
    return session.offers


class Register(Protocol):
    """Put ``handler`` on the socket event ``event``, behind the guard."""

    def __call__(
        self, event: str, handler: Handler, bucket_of: BucketOf = events_bucket
    ) -> None: ...


def guard(
    sio: socketio.AsyncServer, hub: Hub, handler: Handler, bucket_of: BucketOf = events_bucket
) -> Callable[..., Awaitable[Ack]]:
    """Wrap a handler with rate limiting and error-to-ack translation.

    A socket that keeps going over its limit is disconnected (``Session.over_the_limit``);
    an unexpected exception is logged and answered with ``internal``, never raised into
    python-socketio.
    """

    async def guarded(sid: str, payload: object = None, *extra: object) -> Ack:
        session = hub.sessions.get(sid)
        if session is None:
            return HirobaError(Reason.NOT_JOINED, "socket is not connected").to_ack()
        now = hub.clock()
        if not bucket_of(session).allow(now):
            if session.over_the_limit(now):
                log.warning("disconnecting socket %s for flooding", sid)
                await sio.disconnect(sid)
            return HirobaError(Reason.RATE_LIMITED, "too many messages").to_ack()
        try:
            if extra:
                raise HirobaError(Reason.BAD_PAYLOAD, "send one payload object")
            return await handler(session, payload)
        except HirobaError as exc:
            return exc.to_ack()
        except Exception:
            log.exception("handler failed for socket %s", sid)
            return HirobaError(Reason.INTERNAL, "the server failed; try again").to_ack()

    return guarded


def registrar(sio: socketio.AsyncServer, hub: Hub) -> Register:
    """The :class:`Register` of ``sio``: every event it registers goes through :func:`guard`."""

    def register(event: str, handler: Handler, bucket_of: BucketOf = events_bucket) -> None:
        sio.on(event, guard(sio, hub, handler, bucket_of))

    return register
