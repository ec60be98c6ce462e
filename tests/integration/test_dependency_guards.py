"""Every library internal Hiroba reaches into still exists in the installed version.

server/config/versions.py lists the libraries (aiortc, aioice, python-socketio, python-engineio);
these tests name each private attribute or behaviour the code relies on, on real objects,
so that a dependency upgrade fails here, by name, rather than leaving everyone unheard
at run time. docs/operations.md ("Upgrading dependencies") lists the same places.
"""

from __future__ import annotations

import inspect
import os
import queue
import subprocess
import sys
from pathlib import Path

import aioice.ice
import pytest
import socketio
from aiortc import RTCPeerConnection, rtcrtpreceiver
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpsender import RTCRtpSender
from socketio import packet

from server.audio import lean, tap
from server.config import versions
from server.sockets.packets import GuardedPacket

ROOT = Path(__file__).resolve().parents[2]


def test_installed_versions_are_the_supported_ones() -> None:
    assert versions.problems() == []
    assert tap.aiortc_supported() and lean.lean_supported()


def test_an_unsupported_version_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "installed", lambda name: "1.17.0" if name == "aiortc" else
                        {"aioice": "0.13.0", "python-socketio": "5.18.1",
                         "python-engineio": "4.15.1"}[name])
    [problem] = versions.problems()
    assert problem.startswith("aiortc 1.17.0 is installed, but Hiroba supports aiortc 1.16.x")


def _fake_distribution(folder: Path, name: str, version: str) -> None:
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_serve_refuses_to_start_on_an_untested_aiortc(tmp_path: Path) -> None:
    """The real command line, with an aiortc 1.17 found first on the path: it must stop
    before serving, naming the installed and the supported versions."""
    _fake_distribution(tmp_path / "site", "aiortc", "1.17.0")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    done = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "serve", "--port", "1", "--data-dir",
         str(tmp_path / "data")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=20,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "aiortc 1.17.0 is installed" in done.stderr
    assert "aiortc 1.16.x" in done.stderr
    assert "Hiroba 0." not in done.stdout  # it never announced itself as serving
    checked = subprocess.run([sys.executable, "-m", "server.config.versions"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 1 and "aiortc 1.17.0" in checked.stderr


async def test_aiortc_receiver_has_the_decoder_queue_the_tap_swaps() -> None:
    """server/audio/tap.py replaces RTCRtpReceiver's private decoder queue, and relies on
    the decoder worker reading (codec, frame) items from it, None meaning stop."""
    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("audio").receiver
        current = getattr(receiver, tap._QUEUE_ATTRIBUTE)
        assert isinstance(current, queue.Queue) and current.empty()
        worker = inspect.getsource(rtcrtpreceiver.decoder_worker)
        assert "input_q.get()" in worker and "if task is None" in worker
        assert "codec, encoded_frame = task" in worker
    finally:
        await pc.close()


async def test_aiortc_sender_and_transport_internals_of_the_lean_path() -> None:
    """server/audio/lean.py reads the transceiver's codecs and header extensions, the
    sender's SSRC and writes its report counters and the DTLS transport's counters."""
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("audio", direction="sendonly")
        assert hasattr(transceiver, "_codecs") and hasattr(transceiver, "_headerExtensions")
        sender = transceiver.sender
        assert isinstance(sender, RTCRtpSender) and isinstance(sender._ssrc, int)
        for name in ("ntp_timestamp", "rtp_timestamp", "packet_count", "octet_count"):
            assert hasattr(sender, f"_RTCRtpSender__{name}"), name
        dtls = sender.transport
        assert isinstance(dtls, RTCDtlsTransport)
        for name in ("_RTCDtlsTransport__tx_packets", "_RTCDtlsTransport__tx_bytes",
                     "_state", "_transport"):
            assert hasattr(dtls, name), name
        # _tx_srtp is made when DTLS connects; the send path reads it under that state.
        assert "self._tx_srtp" in inspect.getsource(RTCDtlsTransport)
        ice_connection = dtls._transport._connection
        assert isinstance(ice_connection, aioice.ice.Connection)
        assert isinstance(ice_connection._nominated, dict)
    finally:
        await pc.close()


def test_aioice_gathers_host_addresses_through_the_function_ice_py_replaces() -> None:
    """server/rtc/ice.py limits host candidates by replacing aioice.ice.get_host_addresses;
    that only works while gathering looks the name up in the module at call time."""
    assert callable(aioice.ice.get_host_addresses)
    assert "get_host_addresses(" in inspect.getsource(aioice.ice.Connection.gather_candidates)


def test_socketio_internals_the_cluster_server_and_packet_guard_use() -> None:
    """server/cluster/sio_server.py overrides AsyncServer._trigger_event(event, namespace,
    *args); server/sockets/packets.py subclasses packet.Packet, overriding decode and reading
    packet_type / data / namespace / id, and is passed as ``serializer``."""
    params = list(inspect.signature(socketio.AsyncServer._trigger_event).parameters)
    assert params[:3] == ["self", "event", "namespace"]
    assert socketio.AsyncServer(serializer=GuardedPacket).packet_class is GuardedPacket
    good = GuardedPacket(encoded_packet='2["hello",{"a":1}]')
    assert (good.packet_type, good.data) == (packet.EVENT, ["hello", {"a": 1}])
    bad = GuardedPacket(encoded_packet="2" + "[" * 40 + "]" * 40)
    assert (bad.packet_type, bad.namespace, bad.data) == (packet.DISCONNECT, None, None)


def test_engineio_reads_a_polling_body_by_content_length() -> None:
    """server/http/security.py refuses chunked polling POSTs (411) because python-engineio
    reads exactly CONTENT_LENGTH bytes of a polling body (0 when absent), and caps long
    bodies itself by closing the session, which the middleware pre-empts (413)."""
    from engineio import async_socket

    source = inspect.getsource(async_socket.AsyncSocket.handle_post_request)
    assert "int(environ.get('CONTENT_LENGTH', '0'))" in source
    assert "max_http_buffer_size" in source
