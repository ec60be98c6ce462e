"""Live automatic captions (issue 17): how long a caption takes and what the worker costs.

Starts a Hiroba server on 127.0.0.1 (or targets ``--url`` with its ``--data-dir``), adds a
staff account, switches ``auto_captions`` on in the committee room, and has its chair (a
real aiortc peer; the chair is always captioned) say synthesised Japanese committee
sentences (tests/transcription_media.py), one at a time with a pause, while a staff
console's socket waits for each automatic caption. Prints:

- caption delay, p50 / p95 / max: from the end of the words (the clip's end less its
  0.3 s of trailing room noise) to the caption's arrival at the console's socket;
- the worker's CPU seconds per second of speech (from /proc, the worker process only,
  counted from the first caption on: the model's load is left out and reported apart);
- the mean character error rate of the captions against what was said;
- captions, phrases and packets dropped (the server's /metrics).

Exits 1 when it measured no caption.

    .venv/bin/hiroba bench captions --phrases 8 --json
    # alongside the motion bench, on one server:
    .venv/bin/hiroba bench captions --seconds 40 --announce &   # prints {"url", "data_dir"}
    .venv/bin/hiroba bench motion --url URL --data-dir DIR --clients 100 --stage 12 ...

Bounded: at most 200 phrases or 600 s; traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription

from bench import server as bench_server
from bench.clients.speech_track import Pcm, SpeechTrack, load_pcm
from bench.motion import server_flags
from bench.report import finish, nothing
from server.rtc.ice import rtc_configuration, use_host_addresses
from server.transcription.text import cer
from tests.transcription_media import SENTENCES, committee_clip

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "data" / "models"
ROOM = "dx-committee"
PASSWORD = "bench captions password 1"
#: Room noise after the words in every clip (committee_clip's half pause).
TRAILING = 0.3
MAX_PHRASES = 200
MAX_SECONDS = 600.0


def cli(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "server.cli.main", *args], cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=60,
                          input=PASSWORD + "\n").stdout.strip()  # fmt: skip


def worker_pid(server_pid: int) -> int | None:
    """The captions worker: the server's child started by multiprocessing's spawn."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server_pid and b"spawn_main" in cmdline:
            return int(entry)
    return None


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(text: str, line: str) -> float:
    for row in text.splitlines():
        if row.startswith(line + " "):
            return float(row.rsplit(" ", 1)[1])
    return 0.0


async def run(url: str, data_dir: str, server_pid: int, phrases: int, seconds: float,
              gap: float) -> dict[str, Any]:  # fmt: skip
    cli("staff", "add", "benchstaff", "--password-stdin", "--data-dir", data_dir)
    link = cli("invite", ROOM, "--role", "chair", "--name", "委員長", "--data-dir", data_dir)
    token = parse_qs(urlparse(link).query)["token"][0]
    speech: list[tuple[str, Pcm]] = [
        (s, load_pcm(committee_clip([s], seed=20 + i).path)) for i, s in enumerate(SENTENCES)]
    async with aiohttp.ClientSession() as http:
        async with http.post(url + "/api/login", json={"account": "benchstaff",
                                                       "password": PASSWORD}) as r:
            body = await r.json()
            cookie = f"hiroba_session={r.cookies['hiroba_session'].value}"
            csrf = body["csrf"]
        async with http.post(url + f"/api/rooms/{ROOM}/settings", json={"auto_captions": True},
                             headers={"Cookie": cookie, "X-CSRF-Token": csrf}) as r:
            assert r.status == 200, await r.text()
    arrived: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
    console = socketio.AsyncClient(reconnection=False)

    async def on_event(data: dict[str, Any]) -> None:
        if data.get("type") == "caption.posted" and data["line"].get("auto"):
            await arrived.put((time.time(), data["line"]))

    console.on("meeting:event", on_event)
    await console.connect(url, transports=["websocket"], headers={"Cookie": cookie})
    ack = await console.call("console:join", {"room": ROOM}, timeout=10)
    assert ack["ok"], ack
    chair = socketio.AsyncClient(reconnection=False)
    await chair.connect(url, transports=["websocket"])
    ack = await chair.call("join", {"name": "委員長", "room": ROOM, "lang": "ja",
                                    "token": token}, timeout=10)  # fmt: skip
    assert ack["ok"] and ack.get("place") != "lobby", ack
    use_host_addresses(["127.0.0.1"])  # loopback candidates, as the server offers
    track = SpeechTrack()
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTrack(track)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await chair.call("audio:publish", {"type": "offer", "sdp": pc.localDescription.sdp},
                              timeout=10)  # fmt: skip
    assert answer["ok"], answer
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    delays: list[float] = []
    errors: list[float] = []
    audio = 0.0
    cpu0: float | None = None
    worker: int | None = None
    first_delay: float | None = None
    started = time.monotonic()
    missed = 0
    late = 0
    try:
        n = 0
        while n < phrases or time.monotonic() - started < seconds:
            if n >= MAX_PHRASES or time.monotonic() - started > MAX_SECONDS:
                break
            said, pcm = speech[n % len(speech)]
            track.say(pcm)
            ended = await track.said() - TRAILING
            began = ended - (pcm.size / 48_000 - 2 * TRAILING)
            try:
                while True:  # a late caption of an earlier phrase is not this one's
                    at, line = await asyncio.wait_for(arrived.get(), 60 if n == 0 else 20)
                    if line["spoken_to"] >= began - 0.5:
                        break
                    late += 1
            except TimeoutError:
                missed += 1
                n += 1
                continue
            while not arrived.empty():  # a phrase cut in two: its pieces, together
                more = arrived.get_nowait()
                at, line = more[0], {**line, "text": line["text"] + more[1]["text"]}
            if worker is None:
                worker = worker_pid(server_pid)
                first_delay = at - ended
                if worker is not None:
                    cpu0 = cpu_seconds(worker)  # the model is loaded: from here on
            else:
                delays.append(at - ended)
                errors.append(cer(said, line["text"]))
                audio += pcm.size / 48_000 - 2 * TRAILING
            n += 1
            await asyncio.sleep(gap)
        cpu = (cpu_seconds(worker) - cpu0) if worker is not None and cpu0 is not None else None
    finally:
        await pc.close()
        await chair.disconnect()
        await console.disconnect()
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as r:
        metrics = await r.text()
    delays.sort()

    def pct(p: float) -> float | None:
        return round(delays[min(len(delays) - 1, int(p * len(delays)))], 2) if delays else None

    return {
        "captions": len(delays), "missed": missed, "late": late,
        "delay_p50_s": round(statistics.median(delays), 2) if delays else None,
        "delay_p95_s": pct(0.95), "delay_max_s": round(delays[-1], 2) if delays else None,
        "first_caption_delay_s": round(first_delay, 2) if first_delay is not None else None,
        "worker_cpu_per_audio_s": round(cpu / audio, 3) if cpu is not None and audio else None,
        "audio_s": round(audio, 1),
        "cer_mean": round(statistics.mean(errors), 3) if errors else None,
        "phrases_dropped": metric(metrics, 'hiroba_auto_captions_dropped_total{what="phrases"}'),
        "packets_dropped": metric(metrics, 'hiroba_auto_captions_dropped_total{what="packets"}'),
        "worker_restarts": metric(metrics, "hiroba_auto_captions_worker_restarts_total"),
        "loadavg": os.getloadavg()[0],
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--phrases", type=int, default=9,
                   help="phrases to say (the first, which starts the worker, is reported "
                        "apart)")  # fmt: skip
    p.add_argument("--seconds", type=float, default=0.0,
                   help="keep speaking at least this long (alongside another bench)")
    p.add_argument("--gap", type=float, default=1.0, help="quiet between phrases (seconds)")
    p.add_argument("--threads", type=int, default=1,
                   help="the server's live_captions_threads (the server started here)")
    p.add_argument("--url", help="a running server (its --data-dir too)")
    p.add_argument("--data-dir", help="with --url: that server's data folder")
    p.add_argument("--pid", type=int, help="with --url: the server's process id")
    p.add_argument("--announce", action="store_true",
                   help='print {"url", "data_dir", "pid"} first (for a second bench)')
    p.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    phrases = max(2, min(args.phrases, MAX_PHRASES))
    seconds = max(0.0, min(args.seconds, MAX_SECONDS))
    with tempfile.TemporaryDirectory(prefix="hiroba-captions-") as tmp:
        proc = None
        if args.url:
            if not args.data_dir or not args.pid:
                raise SystemExit("--url needs --data-dir and --pid")
            url, data_dir, pid = args.url, args.data_dir, args.pid
        else:
            # The motion bench's server flags, so that `bench motion --url` can share it.
            data_dir = tmp
            proc, url = bench_server.start_server(
                data_dir, *server_flags(20.0), "--model-cache-dir", str(MODELS),
                "--live-captions-threads", str(args.threads))
            pid = proc.pid
        try:
            if args.announce:
                print(json.dumps({"url": url, "data_dir": data_dir, "pid": pid}), flush=True)
            result = asyncio.run(run(url, data_dir, pid, phrases, seconds, args.gap))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    return finish(result, args.json, [nothing("caption delay", result["delay_p50_s"])])


if __name__ == "__main__":
    sys.exit(main())
