"""Load clients: what plays the browser's side against a real Hiroba server.

Shared by the benchmarks of ``bench/`` and the tests of ``tests/``, which import them from
here: socket.io and ``/motion`` clients (:mod:`.motion_client`; :mod:`.ws_lite`, a
WebSocket client with hand-written framing, cheap enough for hundreds), aiortc audio peers
(:mod:`.audio_peers`) and a camera peer (:mod:`.rtc_camera`), the media they send
(:mod:`.face_video`: frames of a real face with known motion; :mod:`.recording_media`:
Opus packets and tracked poses, and decoding what was recorded) and how Debian's Chromium
is started (:mod:`.chromium`).

May import the product packages (``server``, ``rooms``, ``avatar``, ``moderation``) and
third-party libraries; never ``tests`` (no pytest here) nor the benchmarks themselves.
Helpers only the tests need stay in ``tests/``.
"""
