"""The container's health check: exit 0 when this container's Hiroba answers /healthz.

Run by the image's HEALTHCHECK (the slim image has no curl). It asks the server on the
loopback address at HIROBA_PORT, over HTTPS when the server terminates TLS itself (its
certificate names the public host, not 127.0.0.1, so it is not verified here), and
never through a proxy the environment may name.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("HIROBA_PORT", "8080")
    tls = bool(os.environ.get("HIROBA_TLS_CERT"))
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/healthz"
    context = ssl._create_unverified_context() if tls else None
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(url, timeout=4) as answer:
            status = json.load(answer).get("status")
    except (OSError, ValueError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    if status != "ok":
        print(f"{url}: status {status!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
