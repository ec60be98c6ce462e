"""Gallery viewers for ``bench/gallery.py``: many per process, far cheaper than the server.

A viewer is a bare :class:`asyncio.Protocol` speaking just enough RFC 6455 to read the
gallery plane (``GET /gallery/ws?room=...``): the upgrade request, unmasked server frames
(no fragmentation: the plane writes each message whole), a pong to a ping, a close. No
WebSocket library: a library's per-message work (a future, a queue, a task switch) would
cost the client process more than the server's one ``transport.write`` it measures.

Most viewers only *drain*: per message they read the 6-byte header (kind, seq) and, for a
FRAME, its audio count, and note a gap in the frame sequence numbers (frames the server
skipped for them). A few are *samples*: they decode every message with the reference
codec (:mod:`server.gallery.codec`) and keep, per audio packet, its RTP timestamp and the
wall-clock time it arrived, and per frame the stage pose's send time next to the audio's
RTP timestamps (the A/V alignment); the bench joins those with the speaker's send times.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from server.gallery import codec

#: A stage member's yaw carries its uplink's send time (bench/motion.py's probe): wall
#: clock milliseconds modulo this.
PROBE_WRAP = 36_000
_U16BE = struct.Struct(">H")
_U64BE = struct.Struct(">Q")
_SEQ = struct.Struct("<I")


@dataclass
class Viewer(asyncio.Protocol):
    """One viewer's connection and counters (all since it connected)."""

    host: str
    room: str
    sample: bool = False
    speaker_slot: int | None = None
    transport: asyncio.Transport | None = None
    upgraded: bool = False
    hello: bool = False
    #: The hello's ``audio_lag_ms`` (sample viewers): the page shows poses that much later.
    audio_lag_ms: int = 0
    status: str = ""
    close_code: int | None = None
    frames: int = 0
    states: int = 0
    nbytes: int = 0
    audio: int = 0
    missed: int = 0
    last_seq: int | None = None
    #: sample viewers: (rtp_ts, arrival wall clock s, age_ms)
    heard: list[tuple[int, float, int]] = field(default_factory=list)
    #: sample viewers: (pose send code ms mod PROBE_WRAP, [rtp_ts of the frame's audio])
    paired: list[tuple[int, list[int]]] = field(default_factory=list)
    decode_errors: int = 0
    done: asyncio.Future[None] | None = None
    _buf: bytearray = field(default_factory=bytearray)

    # --- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((
            f"GET /gallery/ws?room={self.room} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Origin: http://{self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1")
            self.status = head.split("\r\n", 1)[0]
            del buf[: end + 4]
            if " 101 " not in self.status + " ":
                self._finish()
                return
            self.upgraded = True
        at, size = 0, len(buf)
        while size - at >= 2:
            length = buf[at + 1] & 0x7F
            head = 2
            if length == 126:
                if size - at < 4:
                    break
                length, head = _U16BE.unpack_from(buf, at + 2)[0], 4
            elif length == 127:
                if size - at < 10:
                    break
                length, head = _U64BE.unpack_from(buf, at + 2)[0], 10
            if size - at < head + length:
                break
            opcode = buf[at] & 0x0F
            start = at + head
            at = start + length
            if opcode == 0x2:
                self._binary(buf, start, length)
            elif opcode == 0x9:
                self._control(0xA, bytes(buf[start:at]))
            elif opcode == 0x8:
                self.close_code = _U16BE.unpack_from(buf, start)[0] if length >= 2 else 1005
                self._control(0x8, bytes(buf[start : start + 2]))
                self._finish()
                return
        if at:
            del buf[:at]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.close_code is None and self.upgraded:
            self.close_code = 1006
        self._finish()

    # --- messages -----------------------------------------------------------------------
    def _binary(self, buf: bytearray, start: int, length: int) -> None:
        self.nbytes += length
        if length < 6:
            self.decode_errors += 1
            return
        kind = buf[start]
        if kind == codec.KIND_STATE:
            self.states += 1
            # (States are numbered apart from frames: only frames' gaps are frames missed.)
            if not self.hello:
                self.hello = True
                if self.sample:
                    with contextlib.suppress(Exception):  # (a bad hello: lag 0, counted)
                        hello = codec.decode(bytes(buf[start : start + length]))
                        if isinstance(hello, dict):
                            self.audio_lag_ms = int(hello.get("audio_lag_ms", 0))
                if self.done is not None and not self.done.done():
                    self.done.set_result(None)
            return
        if kind != codec.KIND_FRAME:
            self.decode_errors += 1
            return
        self.frames += 1
        seq = _SEQ.unpack_from(buf, start + 2)[0]
        if self.last_seq is not None:
            gap = (seq - self.last_seq - 1) & 0xFFFFFFFF
            if gap < 0x80000000:
                self.missed += gap
        self.last_seq = seq
        if length >= codec.FRAME_HEAD.size:
            self.audio += buf[start + codec.FRAME_HEAD.size - 1]
        if self.sample:
            self._decode(bytes(buf[start : start + length]))

    def _decode(self, raw: bytes) -> None:
        now = time.time()
        try:
            frame = codec.decode(raw)
        except Exception:  # (a bad frame is counted, never fatal for the bench)
            self.decode_errors += 1
            return
        if not isinstance(frame, codec.Frame):
            return
        stamps = []
        for a in frame.audio:
            self.heard.append((a.rtp_ts, now, a.age_ms))
            stamps.append(a.rtp_ts)
        if stamps:
            for e in frame.entries:
                mine = self.speaker_slot is None or e.slot == self.speaker_slot
                if e.pose is not None and mine:
                    self.paired.append(((round(e.pose.yaw * 100) + 18000) % PROBE_WRAP, stamps))
                    break

    def _control(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def _finish(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(None)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def counters(self) -> tuple[int, int, int, int]:
        return self.frames, self.nbytes, self.audio, self.missed


async def connect(host: str, port: int, room: str, *, sample: bool = False,
                  within: float = 30.0) -> Viewer:  # fmt: skip
    """A viewer that has had its ``hello`` (or failed: see :attr:`Viewer.hello`)."""
    loop = asyncio.get_running_loop()
    viewer = Viewer(f"{host}:{port}", room, sample=sample)
    viewer.done = loop.create_future()
    try:
        await asyncio.wait_for(loop.create_connection(lambda: viewer, host, port), within)
        await asyncio.wait_for(asyncio.shield(viewer.done), within)
    except (OSError, TimeoutError) as exc:
        viewer.status = viewer.status or repr(exc)
        if viewer.transport is not None:
            viewer.transport.close()
    return viewer


def worker(room: str, sample: bool, nice: int, inbox: Any, out: Any,
           concurrency: int = 64) -> None:  # fmt: skip
    """A client process. Takes its viewers' targets from ``inbox`` (a list of (host, port,
    node index)), connects them (``concurrency`` at a time), reports ``("ready", n)``,
    takes the measuring window (wall-clock start, stop, linger) from ``inbox``, counts
    within it and reports ``("viewers", results)`` ``linger`` s after its end."""
    if nice:
        os.nice(nice)
    targets = inbox.get()
    asyncio.run(_work(targets, room, sample, inbox, out, concurrency))


async def _work(targets: list[tuple[str, int, int]], room: str, sample: bool, inbox: Any,
                out: Any, concurrency: int) -> None:  # fmt: skip
    gate = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()

    async def one(host: str, port: int) -> Viewer:
        async with gate:
            return await connect(host, port, room, sample=sample)

    viewers = await asyncio.gather(*(one(h, p) for h, p, _n in targets))
    connect_s = time.monotonic() - t0
    ok = [v.hello and v.close_code is None for v in viewers]
    out.put(("ready", sum(ok)))
    # (The multiprocessing queue is waited on in a thread, off this loop.)
    start, stop, linger = await asyncio.get_running_loop().run_in_executor(None, inbox.get)
    await asyncio.sleep(max(0.0, start - time.time()))
    c0 = [v.counters() for v in viewers]
    await asyncio.sleep(max(0.0, stop - time.time()))
    c1 = [v.counters() for v in viewers]
    await asyncio.sleep(linger)
    failures = [f"closed {v.close_code}" + ("" if v.hello else " before its hello")
                if v.upgraded else v.status
                for v, good in zip(viewers, ok, strict=True) if not good]  # fmt: skip
    rows = []
    for i, v in enumerate(viewers):
        (f0, b0, a0, m0), (f1, b1, a1, m1) = c0[i], c1[i]
        rows.append({"node": targets[i][2], "ok": ok[i], "frames": f1 - f0, "bytes": b1 - b0,
                     "audio": a1 - a0, "missed": m1 - m0, "closed": v.close_code,
                     "decode_errors": v.decode_errors})  # fmt: skip
    samples = [{"node": targets[i][2], "heard": v.heard, "paired": v.paired,
                "audio_lag_ms": v.audio_lag_ms}
               for i, v in enumerate(viewers) if v.sample and ok[i]]  # fmt: skip
    out.put(("viewers", {"rows": rows, "failures": failures[:5], "n_failed": len(failures),
                         "samples": samples, "connect_s": round(connect_s, 2)}))  # fmt: skip
    for v in viewers:
        if v.transport is not None:
            with contextlib.suppress(Exception):
                v.transport.close()
