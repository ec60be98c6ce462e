"""Packets python-socketio cannot decode end their own socket, quietly, and nobody else's.

Sent over a real engine.io WebSocket (what a hostile client can write by hand): malformed
JSON, JSON nested beyond the interpreter's recursion limit or beyond ``MAX_DEPTH``, packet
types a client may not send, binary placeholders that point nowhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest

from server.console.routes import MEETINGS_KEY
from server.sockets.packets import MAX_DEPTH
from tests.conftest import Server
from tests.meetings import CONSULTATION, participant

DEEP = "[" * 5000 + "]" * 5000


class RawSocket:
    """An engine.io WebSocket speaking socket.io by hand."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.session, self.ws = session, ws

    @classmethod
    async def open(cls, server: Server) -> RawSocket:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(server.url + "/socket.io/?EIO=4&transport=websocket")
        assert (await ws.receive_str()).startswith("0{")  # engine.io open
        await ws.send_str("40")  # socket.io connect, default namespace
        reply = await ws.receive_str()
        assert reply.startswith("40{"), reply
        raw = cls(session, ws)
        raw.sid = json.loads(reply[2:])["sid"]
        return raw

    async def ack(self, text: str) -> Any:
        await self.ws.send_str(text)
        while True:
            msg = await asyncio.wait_for(self.ws.receive_str(), 5)
            if msg.startswith("43"):
                return json.loads(msg[msg.index("["):])[0]

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


BAD = [
    '42["join",' + DEEP + "]",                       # deeper than json can read
    "42" + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),  # deeper than Hiroba allows
    '421["chat:send",' + '{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH + "]",
    '42["join",{',                                   # malformed JSON
    "42\"join\"}",
    '44{"message":"x"}',                             # CONNECT_ERROR is the server's
    "49",                                            # no such packet type
    "4x",
    "4",                                             # an empty socket.io packet
    '451-["pose",{"_placeholder":true,"num":5}]',   # a placeholder naming no attachment
    '451-["pose",{"_placeholder":true,"num":"0"}]',
]


@pytest.mark.parametrize("bad", BAD, ids=[b[:24] for b in BAD])
async def test_an_undecodable_packet_ends_only_its_socket(
    server: Server, made: list[Any], bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    hub = server.app[MEETINGS_KEY].hub
    other = await participant(server, made, "隣の人", room=CONSULTATION)
    raw = await RawSocket.open(server)
    try:
        # Nested within the limit, a payload reaches Hiroba's own checks and gets a reason.
        shallow = "[" * 5 + "]" * 5
        ack = await raw.ack(f'421["join",{{"name":{shallow},"room":"plaza","lang":"ja"}}]')
        assert (ack["ok"], ack["reason"]) == (False, "bad_name"), ack
        assert raw.sid in hub.sessions
        with caplog.at_level(logging.WARNING):
            await raw.ws.send_str(bad)
            for _ in range(50):
                if raw.sid not in hub.sessions:
                    break
                await asyncio.sleep(0.02)
        assert raw.sid not in hub.sessions, "the sender's socket ended"
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], \
            [r.getMessage() for r in caplog.records]
        assert any("undecodable packet" in r.getMessage() for r in caplog.records)
    finally:
        await raw.close()
    assert (await other.call("chat:send", {"text": "まだ話せます"}))["ok"]


async def test_a_deeply_nested_http_body_is_refused(server: Server) -> None:
    async with aiohttp.ClientSession() as http, http.post(
        server.url + "/api/login", data=b"[" * 8000, headers={"Content-Type": "application/json"}
    ) as r:
        body = await r.json()
        assert (r.status, body["reason"]) == (400, "bad_payload"), body


@pytest.mark.parametrize("bad", ["9", "x", "", "6probe-not"])
async def test_engineio_garbage_hurts_nobody_else(server: Server, made: list[Any],
                                                  bad: str) -> None:
    """Frames engine.io itself cannot read. python-engineio logs them with a traceback
    (throttled by server/config/logs.py) and may close that connection; everyone else goes on and
    new connections are served."""
    other = await participant(server, made, "隣の人", room=CONSULTATION)
    raw = await RawSocket.open(server)
    try:
        await raw.ws.send_str(bad)
        await asyncio.sleep(0.2)
    finally:
        await raw.close()
    assert (await other.call("chat:send", {"text": "まだ話せます"}))["ok"]
    again = await RawSocket.open(server)
    await again.close()
