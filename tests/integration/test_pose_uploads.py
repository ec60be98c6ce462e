"""Pose uploads over real sockets (they reach the room on the motion plane), tracking
modes, and the HTTP side of browser tracking (the model route, tasks-vision's files, the
CSP)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from avatar import codec
from avatar.pose import Pose, TrackingState
from bench.clients.motion_client import MotionWatcher
from bench.clients.rtc_camera import announces
from server.config.settings import Settings
from server.tracking.model_fetch import FACE_LANDMARKER
from tests.client_build import built_asset
from tests.conftest import ROOT, running_server


def record(roll: float, t: int, state: TrackingState = TrackingState.TRACKED) -> bytes:
    return codec.encode(Pose(timestamp_ms=t, state=state, roll=roll))


def slot_of(ack: dict[str, Any]) -> int:
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    return int(me["slot"])


async def test_uploads_reach_the_room_on_the_motion_plane(server, clients) -> None:
    a, b, c = await clients(), await clients(), await clients()
    ack_a, ack_b = await a.join("顔A"), await b.join("顔B")
    ack_c = await c.join("見る人")
    other = await clients()
    ack_other = await other.join("別室", room="park-consultation")
    watch_c = await MotionWatcher.open(server.url, ack_c)
    watch_a = await MotionWatcher.open(server.url, ack_a)
    watch_other = await MotionWatcher.open(server.url, ack_other)
    sa, sb = slot_of(ack_a), slot_of(ack_b)
    assert sa != sb
    try:
        # 30 poses a second from each for one second (the socket.io fallback upload): the
        # room gets one motion frame per 50 ms tick, each holding only the latest pose of
        # each sender.
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(30):
            await a.sio.emit("pose", record(roll=float(i), t=i * 33))
            await b.sio.emit("pose", record(roll=-float(i), t=i * 33, state=TrackingState.VOICE))
            await asyncio.sleep(start + (i + 1) / 30 - loop.time())
        await watch_c.wait_poses(sa, 1)
        await asyncio.sleep(0.2)
        assert watch_c.poses[sa][-1][2].roll == 29.0
        assert TrackingState(watch_c.poses[sb][-1][2].state) is TrackingState.VOICE
        n = len(watch_c.frames)
        assert 14 <= n <= 26, f"{n} frames in ~1.2 s at motion_hz 20"
        assert len(watch_c.poses[sa]) <= n  # batched: at most one pose of a sender per frame
        assert all(len({e.slot for e in es}) == len(es) <= 2 for _, _, es in watch_c.frames)
        assert any(sum(e.pose is not None for e in es) == 2 for _, _, es in watch_c.frames)
        assert not watch_other.frames, "poses stay in their room"
        # A page makes its own poses: they are not sent back to it (server-side tracking's
        # are, tests/integration/test_server_tracking.py).
        assert sb in watch_a.poses and sa not in watch_a.poses
    finally:
        for w in (watch_c, watch_a, watch_other):
            await w.close()


async def test_bad_uploads_are_refused_with_bad_payload(server, clients) -> None:
    a = await clients()
    rec = record(1.0, 1)
    assert (await a.call("pose", rec))["reason"] == "not_joined"
    await a.join("不正")
    assert (await a.call("pose", rec))["ok"]
    for bad in (rec[:-1], rec + b"\x00", bytes([0x30]) + rec[1:], {"roll": 1}, "x" * 69):
        ack = await a.call("pose", bad)
        assert (ack["ok"], ack["reason"]) == (False, "bad_payload"), (bad, ack)
    angle = bytearray(rec)
    angle[5:7] = (18001).to_bytes(2, "little", signed=True)
    assert (await a.call("pose", bytes(angle)))["reason"] == "bad_payload"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, model_cache_dir=ROOT / "data" / "models")


async def test_uploads_beyond_30_a_second_are_rate_limited(server, clients) -> None:
    a = await clients()
    await a.join("速すぎ")
    rec = record(0.0, 0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    acks = await asyncio.gather(*(a.call("pose", rec) for _ in range(150)))
    elapsed = loop.time() - start
    limited = [x for x in acks if not x["ok"]]
    assert limited and all(x["reason"] == "rate_limited" for x in limited)
    # A burst of 48, then 36 a second.
    assert sum(x["ok"] for x in acks) <= 48 + 36 * elapsed + 1
    assert a.sio.connected, "a burst is limited, not punished"


async def test_tracking_modes_are_kept_and_announced(server, clients) -> None:
    a, b = await clients(), await clients()
    ack = await a.join("モード")
    await b.join("見る人")
    pid = ack["self"]
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == pid)
    assert me["tracking"] == "none"
    assert (await a.call("tracking", {"mode": "voice"}))["ok"]
    await b.wait_for(announces(pid, "voice"))
    assert (await a.call("tracking", {"mode": "browser"}))["ok"]
    await b.wait_for(announces(pid, "browser"))
    ack = await a.call("tracking", {"mode": "server"})
    assert (ack["ok"], ack["reason"]) == (False, "wrong_state")
    assert (await a.call("tracking", {"mode": "face"}))["reason"] == "bad_field"
    assert (await a.call("rtc:close", {}))["ok"]
    # A newcomer's snapshot carries everyone's mode.
    c = await clients()
    snap = (await c.join("後から"))["snapshot"]
    assert next(p for p in snap["participants"] if p["id"] == pid)["tracking"] == "browser"


async def test_citizens_may_not_use_server_tracking(server, clients) -> None:
    a = await clients()
    ack = await a.join("市民")
    assert ack["snapshot"]["self_may"]["track_on_server"] is False
    ack = await a.call("rtc:offer", {"type": "offer", "sdp": "v=0\r\nm=video 9 x\r\n"})
    assert (ack["ok"], ack["reason"]) == (False, "forbidden")


async def get(url: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
        return r.status, r.headers.copy(), await r.read()


async def test_model_is_served_from_the_cache(server) -> None:
    status, headers, body = await get(server.url + "/models/face_landmarker.task")
    assert status == 200 and len(body) == FACE_LANDMARKER.size
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["ETag"] == f'"{FACE_LANDMARKER.sha256}"'
    assert "max-age" in headers["Cache-Control"]
    status, _, _ = await get(server.url + "/models/face_landmarker.task",
                             **{"If-None-Match": headers["ETag"]})  # fmt: skip
    assert status == 304
    status, _, _ = await get(server.url + "/models/other.task")
    assert status == 404


async def test_tasks_vision_files_and_csp(server) -> None:
    """The build carries tasks-vision's module WASM and its loader byte for byte, under
    hashed names the tracking worker names; nothing else of the package is served."""
    package = ROOT / "web_client" / "node_modules" / "@mediapipe" / "tasks-vision"
    built = server.settings.client_dir
    worker_path = built_asset(built, "faceWorker-*.js")
    worker = (built / worker_path.removeprefix("/app/")).read_text()
    for pattern, original in (("vision_wasm_module_internal-*.wasm", "wasm/"),
                              ("vision_wasm_module_internal-*.js", "wasm/")):
        path = built_asset(built, pattern)
        assert path in worker, f"the worker does not load {path}"
        status, headers, body = await get(server.url + path, **{"Accept-Encoding": "identity"})
        assert status == 200 and "immutable" in headers["Cache-Control"]
        name = path.rsplit("/", 1)[1]
        stem, suffix = name.rsplit("-", 1)[0], name.rsplit(".", 1)[1]
        assert body == (package / original / f"{stem}.{suffix}").read_bytes(), path
        if suffix == "wasm":
            assert headers["Content-Type"] == "application/wasm" and body[:4] == b"\x00asm"
    bundle = built_asset(built, "vision_bundle-*.js")
    status, headers, body = await get(server.url + bundle)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"FaceLandmarker" in body
    base = server.url + "/vendor/@mediapipe/tasks-vision/"
    for path in ("vision_bundle.mjs", "wasm/vision_wasm_module_internal.wasm", "package.json",
                 "vision_bundle.cjs", "../three/build/three.module.js"):
        assert (await get(base + path))[0] == 404
    csp = (await get(server.url + "/"))[1]["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert "'wasm-unsafe-eval'" in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"].replace("'wasm-unsafe-eval'", "")
    assert directives["connect-src"] == "'self'"
    # The tracking worker gets its own policy from its script's answer: the same one.
    status, headers, _ = await get(server.url + worker_path)
    assert status == 200 and headers["Content-Security-Policy"] == csp


async def test_model_missing_is_503(settings: Settings, tmp_path) -> None:
    async with running_server(replace(settings, model_cache_dir=tmp_path / "empty")) as server:
        status, _, body = await get(server.url + "/models/face_landmarker.task")
    assert status == 503 and b"model_unavailable" in body
