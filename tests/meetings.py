"""Helpers for tests of meetings: invitations, staff logins and consoles, meeting events.

Everything goes through the real entry points (HTTP login, socket events); only the
invitation is signed here with the server's own secret, as ``hiroba invite`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from yarl import URL

from moderation.accounts import new_account
from moderation.invitations import issue_invitation
from rooms.model import Role
from server.config.secret import load_or_create_secret
from server.console.routes import MEETINGS_KEY
from server.rtc.ice import rtc_configuration
from server.staff.passwords import STAFF_HASHER
from tests.conftest import Client, Server

COMMITTEE = "dx-committee"
CONSULTATION = "park-consultation"
STAFF_PASSWORD = "correct horse battery staple"


def invitation(server: Server, room: str, role: Role, name: str | None = None,
               ttl: int = 600, now: float | None = None) -> str:
    """A fresh invitation token, signed with the server's secret."""
    secret = load_or_create_secret(server.settings.secret_path)
    token, _ = issue_invitation(secret, room, role, name, now or time.time(), ttl,
                                issued_by="test")
    return token


class MeetingClient(Client):
    """A socket.io client that also records meeting events, notices and admissions."""

    def __init__(self, url: str, cookie: str | None = None) -> None:
        super().__init__(url)
        self.cookie = cookie
        self.seen: list[tuple[str, Any]] = []
        self.got = asyncio.Event()
        for name in ("meeting:event", "meeting:floor", "meeting:agenda", "meeting:staff",
                     "meeting:notice", "meeting:admitted", "meeting:recording"):
            self.sio.on(name, self._recorder(name))
        self.ack: dict[str, Any] = {}
        #: Where the join put them first (``lobby`` for someone admitted later).
        self.came_via: str | None = None

    def _recorder(self, name: str) -> Callable[[Any], Any]:
        async def record(data: Any) -> None:
            self.seen.append((name, data))
            self.got.set()

        return record

    async def connect(self) -> MeetingClient:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=5,
                               headers=headers)
        return self

    async def expect(
        self, name: str, predicate: Callable[[Any], bool] = lambda _: True, within: float = 3.0
    ) -> Any:
        """The first ``name`` event (received already or coming) that ``predicate`` accepts."""
        deadline = asyncio.get_running_loop().time() + within
        seen = 0
        while True:
            for event, data in self.seen[seen:]:
                if event == name and predicate(data):
                    return data
            seen = len(self.seen)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {name} within {within}s: {self.seen[-4:]}")
            self.got.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.got.wait(), remaining)

    async def act(self, event: str, data: Any = None) -> dict[str, Any]:
        """Send a meeting event and require success."""
        ack = await self.call(event, {} if data is None else data)
        assert ack["ok"], (event, data, ack)
        return ack  # type: ignore[no-any-return]


async def add_staff(server: Server, name: str = "jimu", display: str = "事務局") -> None:
    await server.app[MEETINGS_KEY].staff.add_account(
        new_account(name, STAFF_PASSWORD, time.time(), display_name=display,
                    hasher=STAFF_HASHER))


async def login(server: Server, name: str = "jimu") -> tuple[str, str]:
    """Log in over HTTP; the session cookie header and the CSRF token."""
    async with aiohttp.ClientSession() as http, http.post(
        server.url + "/api/login", json={"account": name, "password": STAFF_PASSWORD}
    ) as resp:
        body = await resp.json()
        assert resp.status == 200, body
        cookie = resp.cookies["hiroba_session"].value
    return f"hiroba_session={cookie}", body["csrf"]


async def console(server: Server, made: list[Client], room: str = COMMITTEE,
                  name: str = "jimu") -> MeetingClient:
    """A staff console in ``room`` (the account must exist)."""
    cookie, _ = await login(server, name)
    client = await MeetingClient(server.url, cookie).connect()
    made.append(client)
    client.ack = await client.act("console:join", {"room": room})
    return client


async def participant(server: Server, made: list[Client], name: str, room: str = COMMITTEE,
                      **extra: Any) -> MeetingClient:
    """A participant who joined ``room`` (the ack may say ``place: lobby``)."""
    client = await MeetingClient(server.url).connect()
    made.append(client)
    ack = await client.call("join", {"name": name, "room": room, "lang": "ja", **extra})
    assert ack["ok"], ack
    client.ack = ack
    return client


async def admitted(server: Server, made: list[Client], staff: MeetingClient, name: str,
                   role: Role = Role.MEMBER, room: str = COMMITTEE,
                   **extra: Any) -> MeetingClient:
    """A participant invited as ``role`` (citizens uninvited) and, if they wait in the
    lobby, admitted by ``staff``: the client's ack then is the admission's."""
    if role is not Role.CITIZEN:
        extra["token"] = invitation(server, room, role, name)
    client = await participant(server, made, name, room, **extra)
    client.came_via = client.ack.get("place")
    if client.ack.get("place") == "lobby":
        await staff.act("lobby:admit", {"target": client.ack["self"]})
        client.ack = await client.expect("meeting:admitted")
    return client


_consoles: dict[str, MeetingClient] = {}


async def join_invited(server: Server, client: Client, room: str, role: Role, name: str,
                       **extra: Any) -> dict[str, Any]:
    """Join ``room`` on ``client`` with a fresh invitation for ``role``. Someone who waits
    in the lobby (a committee member) is admitted by a staff console kept for the server;
    the returned ack is then the admission's (it holds the snapshot)."""
    admission: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def admitted_now(data: dict[str, Any]) -> None:
        if not admission.done():
            admission.set_result(data)

    client.sio.on("meeting:admitted", admitted_now)
    token = invitation(server, room, role, name)
    ack = await client.join(name, room=room, token=token, **extra)
    if ack.get("place") != "lobby":
        return ack
    key = f"{server.url}/{room}"
    if key not in _consoles or not _consoles[key].sio.connected:
        service = server.app[MEETINGS_KEY]
        if await service.staff.account("test-staff") is None:
            await add_staff(server, "test-staff", "テスト事務局")
        holder: list[Client] = []
        _consoles[key] = await console(server, holder, room, name="test-staff")
    await _consoles[key].act("lobby:admit", {"target": ack["self"]})
    return await asyncio.wait_for(admission, 5)


async def staff_post(server: Server, path: str, body: Any, *, cookie: str,
                     csrf: str) -> tuple[int, dict[str, Any]]:
    """A state-changing staff call, as the console makes it."""
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    async with aiohttp.ClientSession(headers=headers) as http, http.post(
        server.url + path, json=body
    ) as resp:
        return resp.status, await resp.json()


async def http(method: str, url: str, *, body: Any = None, raw: Any = None,
               encoded: Any = False, connector: Any = None,
               **headers: str) -> tuple[int, Any, aiohttp.ClientResponse]:
    """One request; the JSON answer (or the raw bytes when not JSON) and the response."""
    target = URL(url, encoded=True) if encoded else url
    async with aiohttp.ClientSession(connector=connector) as session, session.request(
        method, target, json=body if raw is None else None, data=raw, headers=headers
    ) as r:
        data = await r.read()
        try:
            return r.status, json.loads(data), r
        except ValueError:
            return r.status, data, r


async def publish_audio(client: Client, track: MediaStreamTrack) -> RTCPeerConnection:
    """A real aiortc peer that publishes ``track`` as ``client``'s microphone (loopback host
    candidates only, no STUN); the caller closes it."""
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTrack(track)
    await pc.setLocalDescription(await pc.createOffer())
    ack = await client.call("audio:publish", {"type": "offer", "sdp": pc.localDescription.sdp})
    assert ack["ok"], ack
    await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
    return pc
