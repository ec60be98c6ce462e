"""ICE servers for browsers: the TURN (and STUN) servers a page's peer connections use.

Citizens on networks that block UDP, or behind symmetric NATs, reach the server's media
only through a TURN relay (docs/security.md, "Behind TLS, with TURN"). With
``turn_secret_file`` set, every join acknowledgement carries short-lived credentials in
the TURN REST form coturn checks with ``use-auth-secret``: the user name is
``<unix expiry>:<participant id>`` and the password the base64 HMAC-SHA1 of that name
under the shared secret. Nothing is stored; the TURN server needs no user list, and a
credential stops working by itself. Without a secret the URLs are given bare (a STUN
server, or a TURN server with its own users). Without URLs the list is empty: the page
contacts no third party.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from rooms.errors import HirobaError, Reason


@dataclass(frozen=True)
class BrowserIce:
    urls: tuple[str, ...]
    secret: bytes | None
    ttl_seconds: int

    def servers(self, participant: str, now: float) -> list[dict[str, object]]:
        """The ``iceServers`` of ``RTCPeerConnection`` for ``participant`` at ``now``."""
        if not self.urls:
            return []
        if self.secret is None:
            return [{"urls": list(self.urls)}]
        username = f"{int(now) + self.ttl_seconds}:{participant}"
        digest = hmac.new(self.secret, username.encode(), hashlib.sha1).digest()
        return [{"urls": list(self.urls), "username": username,
                 "credential": base64.b64encode(digest).decode()}]  # fmt: skip


def load_browser_ice(urls: tuple[str, ...], secret_file: Path | None, ttl: int) -> BrowserIce:
    """Read the TURN secret (blocking: call off-loop); ``bad_field`` if it is unusable."""
    for url in urls:
        if not url.startswith(("stun:", "turn:", "turns:")):
            raise HirobaError(Reason.BAD_FIELD, f"turn_urls: {url!r} is not a stun:/turn: URL")
    secret = None
    if secret_file is not None:
        try:
            secret = secret_file.read_text().strip().encode()
        except OSError as exc:
            raise HirobaError(Reason.BAD_FIELD, f"turn_secret_file {secret_file}: {exc}") from exc
        if len(secret) < 16:
            raise HirobaError(Reason.BAD_FIELD, "the TURN secret is shorter than 16 characters")
    return BrowserIce(urls, secret, ttl)
