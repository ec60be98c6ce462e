"""Stand-ins for the motion plane's unit tests, where no frame needs to reach anyone."""

from __future__ import annotations

from server.motion.transport import MotionTransport, Written


class QuietTransport(MotionTransport):
    """A transport that is never busy and sends nothing."""

    kind = "test"

    def write_frame(self, frame: bytes) -> Written:
        return Written.SENT

    async def close(self) -> None:
        return None
