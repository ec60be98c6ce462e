"""ICE for the media plane: which STUN/TURN servers and which host addresses aiortc uses.

Two aiortc/aioice defaults do not suit a municipal server:

- ``RTCPeerConnection`` without a configuration, or with ``iceServers=None``, quietly adds
  Google's public STUN server. :func:`rtc_configuration` always passes an explicit list,
  empty unless the operator configures ``ice_servers``: no third party is contacted.
- aioice gathers host candidates from every interface *except* loopback
  (``aioice.ice.get_host_addresses`` skips ``127.0.0.1`` and ``::1``), so two peers on one
  machine (tests, benchmarks, a trial on a laptop) cannot talk over 127.0.0.1, and a
  server with many interfaces offers them all. aioice has no option for this. While
  :func:`use_host_addresses` is in force, aioice's address lookup returns the configured
  addresses instead (loopback allowed); with no addresses configured aioice's own lookup
  is left alone.

A third concerns the browser's offer: aioice sends connectivity checks (STUN) to every
candidate the offer lists. An offer is written by whoever sends it, so left alone it
would make the server send STUN to any address an attacker names (a private network, a
third party: about 7 packets per candidate). :func:`screen_candidates` keeps only
candidates at the signalling peer's own address (its host or server-reflexive one, the
one it talks to us from) and relayed ones (``typ relay``, a TURN server the page was
given), at most :data:`MAX_OFFER_CANDIDATES`. A browser whose real candidates are all
dropped (mDNS names, a proxy on this machine that is not trusted) still connects: its
own checks reach the server, which learns it as a peer-reflexive candidate.

The same setting is what the server announces (issue 14, finding 13): a server that
browsers of other machines reach must configure it (``hiroba serve`` refuses to start
otherwise, server/config/settings.py), and :func:`announced_only` strips from every answer
a host candidate at any other address, should aioice ever gather one past the lookup
(an upgrade that no longer calls it). Server-reflexive and relayed candidates stay: they
are what the STUN or TURN server sees of this machine from outside.

The second point replaces one module-level function of aioice that
``Connection.gather_candidates`` looks up at call time; it is checked against the
installed aioice version (:data:`SUPPORTED_AIOICE`) and covered by
``tests/integration/test_ice.py``. The setting is process-wide, like the server it serves.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

from server.common.networks import peer_address

log = logging.getLogger(__name__)

#: aioice versions whose ``gather_candidates`` calls ``aioice.ice.get_host_addresses``.
SUPPORTED_AIOICE = ("0.9.", "0.10.", "0.11.", "0.12.", "0.13.")

HostLookup = Callable[[bool, bool], list[str]]
_ORIGINAL: HostLookup = aioice.ice.get_host_addresses
#: The addresses :func:`use_host_addresses` fixed (empty: aioice's own lookup, loopback
#: deployments only).
_announced: tuple[str, ...] = ()


def parse_addresses(addresses: Sequence[str]) -> tuple[str, ...]:
    """The addresses as canonical IP strings; raises ValueError for anything else."""
    out = []
    for text in addresses:
        out.append(str(ipaddress.ip_address(text.strip())))
    return tuple(dict.fromkeys(out))


def _fixed_lookup(addresses: tuple[str, ...]) -> HostLookup:
    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        keep = []
        for a in addresses:
            v6 = ipaddress.ip_address(a).version == 6
            if (v6 and use_ipv6) or (not v6 and use_ipv4):
                keep.append(a)
        return keep

    return get_host_addresses


def use_host_addresses(addresses: Sequence[str]) -> None:
    """Make every ICE agent of this process offer exactly ``addresses`` as host candidates
    (empty: aioice's default, every non-loopback interface)."""
    global _announced
    fixed = parse_addresses(addresses)
    _announced = fixed
    version = getattr(aioice, "__version__", "")
    if fixed and not version.startswith(SUPPORTED_AIOICE):
        log.warning("aioice %s is untested with ice_host_addresses", version or "(unknown)")
    # mypy: aioice exports the function; replacing it is the point of this module.
    aioice.ice.get_host_addresses = _fixed_lookup(fixed) if fixed else _ORIGINAL  # type: ignore[assignment]
    if fixed:
        log.info("ICE host candidates limited to %s", ", ".join(fixed))


def host_addresses(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    """The host addresses aioice would gather now (for tests and diagnostics)."""
    lookup: HostLookup = aioice.ice.get_host_addresses
    return lookup(use_ipv4, use_ipv6)


#: Candidates of one offer the server will try; a browser lists a few per interface.
MAX_OFFER_CANDIDATES = 16


def _usable(line: str, own: str | None) -> bool:
    """Whether an ``a=candidate:`` line is relayed or at the address ``own`` (any address
    when ``own`` is None); an unreadable line is not."""
    parts = line.split()
    if len(parts) < 8 or parts[6] != "typ":
        return False
    if parts[7] == "relay" or own is None or parts[4] == own:
        return True
    if ":" not in parts[4]:
        return False  # IPv4 has one spelling (leading zeros are refused): no match
    address = peer_address(parts[4])  # IPv6 has many spellings
    return address is not None and str(address) == own


def screen_candidates(sdp: str, peer: str | None) -> str:
    """``sdp`` with only the candidates the server may send checks to (module doc):
    relayed ones and those at ``peer``'s address, at most :data:`MAX_OFFER_CANDIDATES`.
    With ``peer`` unknown (a socket served for another cluster node) only the cap applies.
    """
    address = peer_address(peer) if peer is not None else None
    own = None if address is None else str(address)
    kept, dropped, out = 0, 0, []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            if kept >= MAX_OFFER_CANDIDATES or not _usable(line, own):
                dropped += 1
                continue
            kept += 1
        out.append(line)
    if dropped:
        # No addresses here: the offer's author chose them, and the log is the city's.
        log.debug("offer: %d candidates dropped, %d kept", dropped, kept)
    return "\r\n".join(out) + "\r\n"


def announced_only(sdp: str, addresses: Sequence[str] | None = None) -> str:
    """An answer ``sdp`` with host candidates only at ``addresses`` (default: those of
    :func:`use_host_addresses`; none configured: ``sdp`` unchanged), and a connection line
    (``c=``) or a candidate's base (``raddr``) naming another address replaced by
    ``0.0.0.0`` / ``::`` (what browsers send when they hide theirs)."""
    allowed = parse_addresses(addresses) if addresses is not None else _announced
    if not allowed:
        return sdp
    keep = frozenset(allowed)
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            if len(parts) < 8 or parts[6] != "typ":
                continue
            if parts[7] == "host" and _canonical(parts[4]) not in keep:
                continue
            if "raddr" in parts[8:-1]:
                # A reflexive or relayed candidate names its base: the host address.
                at = parts.index("raddr", 8)
                if _canonical(parts[at + 1]) not in keep:
                    parts[at + 1] = "::" if ":" in parts[at + 1] else "0.0.0.0"
                    if at + 3 < len(parts) and parts[at + 2] == "rport":
                        parts[at + 3] = "0"
                    line = " ".join(parts)
        elif line.startswith("c=IN IP"):
            parts = line.split()
            if len(parts) == 3 and _canonical(parts[2]) not in keep:
                line = f"c=IN {parts[1]} " + ("::" if parts[1] == "IP6" else "0.0.0.0")
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def _canonical(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None  # a name (mDNS) is never an announced address


def rtc_configuration(ice_servers: Sequence[str]) -> RTCConfiguration:
    """An explicit configuration: the given STUN/TURN URLs, or none at all.

    Never ``None``: aiortc would then add a public STUN server on its own.
    """
    servers = [RTCIceServer(urls=url) for url in ice_servers]
    return RTCConfiguration(iceServers=servers)
