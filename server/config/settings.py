"""Settings: loaded once into a frozen object; nothing else reads ``os.environ``.

Precedence, lowest first: defaults, the TOML file (``--config`` or ``HIROBA_CONFIG``),
``HIROBA_*`` environment variables, command-line flags. :func:`resolve_settings` also says
which of them set each value (``hiroba config show``). Each field's metadata (:func:`_doc`)
gives its ``--help`` text, group and metavar; its real type picks its converter.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import math
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rooms.errors import HirobaError, Reason
from server.config.typed import Scalar, convert, shape

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: MediaPipe's published face_landmarker.task (float16, version 1), see docs/models.md.
OFFICIAL_MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/"
    "float16/1/face_landmarker.task"
)


#: The groups of ``hiroba serve --help`` and ``hiroba config show``, in the order shown,
#: each with the sentence that introduces it. Every setting names one (``_doc(group=)``).
GROUPS: dict[str, str] = {
    "network": "Where Hiroba listens and how browsers reach it.",
    "security": "Who may connect, how fast, and the secret that signs tokens.",
    "storage": "Folders and files on this machine, and what goes into a new database.",
    "meetings": "Meeting procedure: the floor's time limits, the chat filter, and the time "
    "zone of minutes, exports and the console.",
    "motion": "Walking and the motion plane (/motion WebSocket) that carries positions and poses.",
    "media": "Voices and WebRTC: audio routing, ICE and TURN.",
    "tracking": "Face tracking: the model, its smoothing filters, tracking on the server.",
    "transcription": "Offline speech recognition: the Whisper model, its threads, the glossary.",
    "cluster": "Several nodes joined through Redis (docs/cluster.md); none: one process.",
    "logging": "Logs, metrics and debugging.",
}


def _doc(
    text: str,
    group: str | None = None,
    *,
    metavar: str | None = None,
    choices: tuple[str, ...] = (),
    secret: bool = False,
    default_text: str | None = None,
) -> dict[str, object]:
    """A field's metadata: its help ``text``, its ``group`` (a key of :data:`GROUPS`), the
    ``metavar`` ``--help`` shows (else one by type), the only values it accepts
    (``choices``, matched case-insensitively), whether its value is ``secret`` (masked by
    ``hiroba config show``; a URL keeps its host, the rest of a secret goes) and, for a
    default worked out from other settings, how ``--help`` says it (``default_text``)."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"setting group {group!r} is not one of {', '.join(GROUPS)}")
    return {"doc": text, "group": group, "metavar": metavar, "choices": choices,
            "secret": secret, "default_text": default_text}  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """Every setting of a Hiroba process. Field docs appear in ``hiroba serve --help``."""

    host: str = field(
        default="127.0.0.1", metadata=_doc("address to listen on", "network", metavar="ADDRESS")
    )
    port: int = field(
        default=8080, metadata=_doc("TCP port to listen on", "network", metavar="PORT")
    )
    public_base_url: str = field(
        default="",
        metadata=_doc(
            "the address people open Hiroba at (https://hiroba.city.example.jp), for the links "
            "hiroba invite prints; empty: http(s)://host:port of these settings",
            "network",
            metavar="URL",
        ),
    )
    data_dir: Path = field(
        default=Path("data"),
        metadata=_doc("folder for the SQLite database and secrets", "storage", metavar="DIR"),
    )
    tls_cert: Path | None = field(
        default=None,
        metadata=_doc("PEM certificate; with tls_key serves HTTPS", "network", metavar="FILE"),
    )
    tls_key: Path | None = field(
        default=None, metadata=_doc("PEM private key for tls_cert", "network", metavar="FILE")
    )
    web_root: Path = field(
        default=_PROJECT_ROOT / "web_client",
        metadata=_doc("folder of the browser client's sources (served with client_dev)",
                      "storage", metavar="DIR"),
    )
    client_dir: Path = field(
        # Package data of `server`: where `make client` builds it, and what the wheel carries.
        default=Path(__file__).resolve().parents[1] / "static",
        metadata=_doc("folder of the built browser client (make client)", "storage",
                      metavar="DIR"),
    )
    client_dev: bool = field(
        default=False,
        metadata=_doc(
            "development: serve the browser client's sources from web_root unbuilt, with an "
            "import map (no make client after each change); never in production",
            "logging",
        ),
    )
    tick_hz: float = field(
        default=10.0,
        metadata=_doc("movement updates per second sent to each room", "motion", metavar="HZ"),
    )
    max_speed: float = field(
        default=4.0,
        metadata=_doc("fastest walking speed in metres per second", "motion", metavar="M/S"),
    )
    seed_demo: bool = field(
        # Off unless asked (make run asks): a city's database starts empty, not with a
        # demo plaza and committee its staff would have to find and delete.
        default=False,
        metadata=_doc("create the demo rooms and notices on first start (make run does)",
                      "storage"),
    )
    secret_file: Path | None = field(
        default=None,
        metadata=_doc(
            "file holding the token-signing secret",
            "security",
            metavar="FILE",
            default_text="DATA_DIR/secret.key",
        ),
    )
    allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "extra origins allowed to open sockets (comma separated); same origin always is",
            "security",
            metavar="ORIGIN,...",
        ),
    )
    max_message_bytes: int = field(
        default=16_384,
        metadata=_doc("largest socket message accepted", "security", metavar="BYTES"),
    )
    events_per_second: float = field(
        default=30.0,
        metadata=_doc("sustained socket events per client", "security", metavar="PER_SECOND"),
    )
    events_burst: float = field(
        default=60.0,
        metadata=_doc("burst of socket events per client", "security", metavar="EVENTS"),
    )
    offers_per_second: float = field(
        default=0.5,
        metadata=_doc(
            "WebRTC offers (audio:publish, audio:listen, motion:offer, rtc:offer) per "
            "client per second, a budget of their own: each one costs a peer connection",
            "security",
            metavar="PER_SECOND",
        ),
    )
    offers_burst: float = field(
        default=4.0,
        metadata=_doc("burst of WebRTC offers per client", "security", metavar="OFFERS"),
    )
    max_connections_per_address: int = field(
        default=200,
        metadata=_doc(
            "socket.io connections one client address may hold on this node (0: no limit); "
            "loopback addresses are not counted (a proxy on this machine: see "
            "trusted_proxies)",
            "security",
            metavar="N",
        ),
    )
    ipv6_limit_prefix: int = field(
        default=64,
        metadata=_doc(
            "prefix length an IPv6 client is counted by in every per-address limit (sockets, "
            "staff logins): a household holds a whole /64 or more; IPv4 counts each address",
            "security",
            metavar="BITS",
        ),
    )
    device_mints_per_window: int = field(
        default=20,
        metadata=_doc(
            "new device identities one client address (IPv6: its ipv6_limit_prefix network) "
            "may be issued per device_mint_window; more joins without one are refused "
            "(rate_limited) (0: no limit); loopback is not counted",
            "security",
            metavar="N",
        ),
    )
    device_mint_window: float = field(
        default=600.0,
        metadata=_doc("seconds device_mints_per_window counts over", "security",
                      metavar="SECONDS"),
    )
    device_surge_per_minute: int = field(
        default=30,
        metadata=_doc(
            "new device identities in one room within a minute that staff are warned of "
            "(console and log) (0: never)",
            "security",
            metavar="N",
        ),
    )
    reserved_places: int = field(
        default=30,
        metadata=_doc(
            "places of every room kept for the chair, members, captioners and staff (at most "
            "half its capacity): the public may hold only the rest, so a crowd cannot lock "
            "the meeting's own people out",
            "security",
            metavar="N",
        ),
    )
    gallery_share: float = field(
        default=0.5,
        metadata=_doc(
            "share of a room's public places (capacity minus reserved_places) its public "
            "gallery may hold, 0 to 1",
            "security",
            metavar="SHARE",
        ),
    )
    gallery_per_address: int = field(
        default=4,
        metadata=_doc(
            "public gallery places of one room one client address (IPv6: its "
            "ipv6_limit_prefix network) may hold (0: no cap; loopback is not counted)",
            "security",
            metavar="N",
        ),
    )
    gallery_viewers_per_address: int = field(
        default=20,
        metadata=_doc(
            "watch-only viewers of one room's gallery plane (/gallery/ws, no avatar) one "
            "client address (IPv6: its ipv6_limit_prefix network) may hold (0: no cap; "
            "loopback is not counted)",
            "security",
            metavar="N",
        ),
    )
    gallery_max_per_room: int = field(
        default=5000,
        metadata=_doc("most gallery-plane viewers of one room on this node", "security",
                      metavar="N"),
    )
    gallery_max_per_node: int = field(
        default=3000,
        metadata=_doc("most gallery-plane viewers of all rooms on this node", "security",
                      metavar="N"),
    )
    gallery_frame_ms: int = field(
        default=60,
        metadata=_doc(
            "milliseconds between two gallery frames (stage, crowd sample and floor audio "
            "in one message; 20 to 200, a multiple of 20: whole Opus packets)",
            "motion",
            metavar="MS",
        ),
    )
    gallery_audio_lag_ms: int = field(
        default=80,
        metadata=_doc(
            "milliseconds by which the floor audio reaches the gallery later than the "
            "speaker's pose (the server's receive jitter buffer: four 20 ms packets); the "
            "gallery page shows the faces that much later so mouths meet the voice (0-500)",
            "motion",
            metavar="MS",
        ),
    )
    gallery_busy_bytes: int = field(
        default=64 * 1024,
        metadata=_doc(
            "bytes waiting unsent to a gallery viewer beyond which it is skipped for a "
            "frame (never queued); one skipped for gallery_cut_seconds is cut off",
            "security",
            metavar="BYTES",
        ),
    )
    gallery_cut_seconds: float = field(
        default=10.0,
        metadata=_doc(
            "seconds a gallery viewer may stay too busy to take frames (it does not read) "
            "before it is disconnected",
            "security",
            metavar="SECONDS",
        ),
    )
    http_header_timeout: float = field(
        default=10.0,
        metadata=_doc(
            "seconds a new TCP connection has to send its first request's headers (TLS "
            "handshake included) before it is closed: slow clients cannot hold descriptors "
            "(0: no limit)",
            "security",
            metavar="SECONDS",
        ),
    )
    tcp_connections_per_address: int = field(
        default=256,
        metadata=_doc(
            "open TCP connections one client address (IPv6: its ipv6_limit_prefix network) "
            "may hold; further ones are closed as they are accepted, before TLS. "
            "trusted_proxies are exempt (list a proxy on this machine there) (0: no limit)",
            "security",
            metavar="N",
        ),
    )
    http_heavy_per_minute: float = field(
        default=60.0,
        metadata=_doc(
            "requests per minute one client address may make to the expensive routes "
            "(minutes, exports, the archive list, the audit log); more get 429",
            "security",
            metavar="PER_MINUTE",
        ),
    )
    http_media_per_minute: float = field(
        default=1200.0,
        metadata=_doc(
            "requests per minute one client address may make for recording files (audio, "
            "motion, event log, manifest); more get 429",
            "security",
            metavar="PER_MINUTE",
        ),
    )
    flood_disconnect_after: int = field(
        default=200,
        metadata=_doc(
            "rate-limited events tolerated (2 forgiven per second) before a client is disconnected",
            "security",
            metavar="EVENTS",
        ),
    )
    log_level: str = field(
        default="info",
        metadata=_doc(
            "debug, info, warning or error",
            "logging",
            choices=("debug", "info", "warning", "error"),
        ),
    )
    log_format: str = field(
        default="text",
        metadata=_doc(
            "text, or json: one JSON object per log line", "logging", choices=("text", "json")
        ),
    )
    metrics_allow: tuple[str, ...] = field(
        default=("127.0.0.0/8", "::1/128"),
        metadata=_doc(
            "networks (CIDR, comma separated) whose requests /metrics answers",
            "logging",
            metavar="CIDR,...",
        ),
    )
    trusted_proxies: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "networks (CIDR, comma separated) of reverse proxies whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed (e.g. 127.0.0.1/32 for nginx on this machine); "
            "none: every peer is the client",
            "network",
            metavar="CIDR,...",
        ),
    )
    debug_endpoints: bool = field(
        default=False,
        metadata=_doc(
            "serve GET /api/debug/leaks (live object and task counts, loopback only) for "
            "load tests; keep off in production",
            "logging",
        ),
    )
    floor_limit_seconds: float = field(
        default=180.0,
        metadata=_doc(
            "time limit when the floor is given without one, in seconds",
            "meetings",
            metavar="SECONDS",
        ),
    )
    floor_grace_seconds: float = field(
        default=10.0,
        metadata=_doc(
            "grace after a speaker's limit before the automatic mute",
            "meetings",
            metavar="SECONDS",
        ),
    )
    committee_absence_grace_seconds: float = field(
        default=60.0,
        metadata=_doc(
            "how long a committee member's last connection may be gone before they count "
            "as disconnected (接続断: no longer present, identity check to redo), 0-3600",
            "meetings",
            metavar="SECONDS",
        ),
    )
    ng_word_files: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "chat NG-word list files (comma separated); none: the bundled ja and en",
            "meetings",
            metavar="FILE,...",
        ),
    )
    time_zone: str = field(
        default="Asia/Tokyo",
        metadata=_doc(
            "the city's time zone (IANA name), in which minutes, exports and the staff "
            "console show times",
            "meetings",
            metavar="ZONE",
        ),
    )
    staff_login_attempts_per_minute: float = field(
        default=10.0,
        metadata=_doc(
            "staff login attempts allowed per client address per minute",
            "security",
            metavar="PER_MINUTE",
        ),
    )
    staff_login_account_failures: int = field(
        default=5,
        metadata=_doc(
            "wrong passwords for one staff account, from any addresses, before its logins "
            "are backed off (1 s, doubling with each further failure)",
            "security",
            metavar="COUNT",
        ),
    )
    staff_login_account_backoff_max: float = field(
        default=900.0,
        metadata=_doc(
            "longest back-off of one staff account's logins, in seconds",
            "security",
            metavar="SECONDS",
        ),
    )
    staff_login_account_window: float = field(
        default=1800.0,
        metadata=_doc(
            "seconds without a wrong password after which an account's failures are "
            "forgotten (at least the longest back-off)",
            "security",
            metavar="SECONDS",
        ),
    )
    staff_recheck_seconds: float = field(
        default=5.0,
        metadata=_doc(
            "how often every open staff socket (console or staff avatar) has its login "
            "checked again, so that a disabled account or an ended session loses its "
            "sockets (0.05 to 5)",
            "security",
            metavar="SECONDS",
        ),
    )
    model_path: Path | None = field(
        default=None,
        metadata=_doc(
            "face_landmarker.task to take first (verified, then copied into the model cache)",
            "tracking",
            metavar="FILE",
        ),
    )
    model_cache_dir: Path | None = field(
        default=None,
        metadata=_doc(
            "folder for the face-tracking model",
            "tracking",
            metavar="DIR",
            default_text="DATA_DIR/models",
        ),
    )
    model_url: str = field(
        default=OFFICIAL_MODEL_URL,
        metadata=_doc(
            "MediaPipe's download address for the model, tried next (empty: skip)",
            "tracking",
            metavar="URL",
        ),
    )
    model_fetch_timeout: float = field(
        default=5.0,
        metadata=_doc(
            "seconds to wait for model_url before the next source", "tracking", metavar="SECONDS"
        ),
    )
    transcription_model_dir: Path | None = field(
        default=None,
        metadata=_doc(
            "a CTranslate2 Whisper model folder to use instead of the pinned Whisper base "
            "(e.g. a larger model); used as it is, never downloaded",
            "transcription",
            metavar="DIR",
            default_text="MODEL_CACHE_DIR/whisper-base",
        ),
    )
    transcription_glossary: Path | None = field(
        default=None,
        metadata=_doc(
            "UTF-8 text file of the city's terms, one a line, given to the recogniser as "
            "hints (# starts a comment)",
            "transcription",
            metavar="FILE",
        ),
    )
    transcription_threads: int = field(
        default=2,
        metadata=_doc("CPU threads of one recogniser (1 to 16)", "transcription", metavar="N"),
    )
    transcription_after_meeting: bool = field(
        default=True,
        metadata=_doc(
            "transcribe each speaker's track of a recording once it stops, in one background "
            "worker process (the minutes' 発言 section); off: no jobs are queued or run",
            "transcription",
        ),
    )
    live_captions_threads: int = field(
        default=1,
        metadata=_doc(
            "CPU threads of the automatic captions worker (1 to 16; one process for every "
            "room whose auto_captions setting is on, niced by 10)",
            "transcription",
            metavar="N",
        ),
    )
    live_captions_waiting: int = field(
        default=2,
        metadata=_doc(
            "phrases waiting for the captions recogniser at most (1 to 20); when it is "
            "behind, the oldest waiting phrase is dropped and counted",
            "transcription",
            metavar="N",
        ),
    )
    tracking_head_min_cutoff: float = field(
        default=0.5,
        metadata=_doc("head smoothing cutoff at rest, in hertz", "tracking", metavar="HZ"),
    )
    tracking_head_beta: float = field(
        default=0.1,
        metadata=_doc(
            "how fast the head cutoff rises with speed (per deg/s)",
            "tracking",
            metavar="BETA",
        ),
    )
    tracking_face_min_cutoff: float = field(
        default=1.0,
        metadata=_doc("expression smoothing cutoff at rest, in hertz", "tracking", metavar="HZ"),
    )
    tracking_face_beta: float = field(
        default=5.0,
        metadata=_doc(
            "how fast the expression cutoff rises with speed",
            "tracking",
            metavar="BETA",
        ),
    )
    tracking_d_cutoff: float = field(
        default=1.0,
        metadata=_doc("cutoff for the speed estimate, in hertz", "tracking", metavar="HZ"),
    )
    move_deltas: bool = field(
        default=False,
        metadata=_doc(
            "also send positions in the room:delta (for clients without the /motion "
            "WebSocket; the browser does not need it)",
            "motion",
        ),
    )
    motion_hz: float = field(
        default=20.0,
        metadata=_doc(
            "motion-plane frames per second to each client (/motion WebSocket)",
            "motion",
            metavar="HZ",
        ),
    )
    motion_near_k: int = field(
        default=8,
        metadata=_doc(
            "nearest plaza neighbours each client gets at full rate", "motion", metavar="N"
        ),
    )
    motion_near_radius: float = field(
        default=12.0,
        metadata=_doc(
            "metres within which those neighbours are looked for", "motion", metavar="METRES"
        ),
    )
    motion_cull_radius: float = field(
        default=30.0,
        metadata=_doc(
            "metres beyond which plaza avatars are not sent at all", "motion", metavar="METRES"
        ),
    )
    motion_far_hz: float = field(
        default=1.0,
        metadata=_doc(
            "updates per second of avatars in range but not near", "motion", metavar="HZ"
        ),
    )
    motion_datachannel_max: int = field(
        default=100,
        metadata=_doc(
            "most clients on the motion plane's WebRTC data-channel fallback (0: none)",
            "motion",
            metavar="N",
        ),
    )
    server_tracking_max: int = field(
        default=4,
        metadata=_doc(
            "most participants whose camera is tracked on the server at once (0: none)",
            "tracking",
            metavar="N",
        ),
    )
    server_tracking_fps: float = field(
        default=15.0,
        metadata=_doc(
            "camera frames tracked per second per participant on the server",
            "tracking",
            metavar="FPS",
        ),
    )
    ice_servers: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "STUN/TURN URLs for WebRTC (comma separated); none: no third party",
            "media",
            metavar="URL,...",
        ),
    )
    turn_urls: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "STUN/TURN URLs browsers use (comma separated, e.g. "
            "turn:turn.example.jp:3478?transport=udp,turns:turn.example.jp:443?transport=tcp)"
            "; none: browsers use no third party",
            "media",
            metavar="URL,...",
        ),
    )
    turn_secret_file: Path | None = field(
        default=None,
        metadata=_doc(
            "file holding the TURN server's shared secret (coturn static-auth-secret): each "
            "join then gets time-limited TURN credentials",
            "media",
            metavar="FILE",
        ),
    )
    turn_ttl_seconds: int = field(
        default=6 * 3600,
        metadata=_doc(
            "how long a browser's TURN credentials are valid", "media", metavar="SECONDS"
        ),
    )
    ice_host_addresses: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "the server's addresses announced to browsers in WebRTC answers (host "
            "candidates; comma separated, loopback allowed). Required when browsers of "
            "other machines connect (host not loopback, or trusted_proxies set); none "
            "(loopback only): every non-loopback interface",
            "media",
            metavar="IP,...",
        ),
    )
    audio_slots: int = field(
        default=3,
        metadata=_doc(
            "voices each listener's browser can play at once (1-8)", "media", metavar="N"
        ),
    )
    audio_proximity_n: int = field(
        default=3,
        metadata=_doc(
            "loudest nearby plaza speakers each listener hears (<= audio_slots)",
            "media",
            metavar="N",
        ),
    )
    audio_radius: float = field(
        default=12.0,
        metadata=_doc("metres within which plaza speakers are heard", "media", metavar="METRES"),
    )
    audio_speech_bitrate: int = field(
        default=20_000,
        metadata=_doc(
            "Opus bitrate speakers are asked to send, bit/s (16000-24000)",
            "media",
            metavar="BIT/S",
        ),
    )
    audio_positions_hz: float = field(
        default=4.0,
        metadata=_doc("plaza positions fed to proximity routing per second", "media", metavar="HZ"),
    )
    audio_max_uplinks: int = field(
        default=64,
        metadata=_doc(
            "most open microphones (uplinks) on this node (0: no limit); staff and invited "
            "members are never refused",
            "media",
            metavar="N",
        ),
    )
    audio_max_listeners: int = field(
        default=400,
        metadata=_doc(
            "most open WebRTC listener peers on this node (0: no limit); staff and invited "
            "members are never refused",
            "media",
            metavar="N",
        ),
    )
    audio_uplinks_per_address: int = field(
        default=4,
        metadata=_doc(
            "most open microphones one client address (IPv6: one ipv6_limit_prefix network) "
            "may hold (0: no limit); loopback is not counted",
            "media",
            metavar="N",
        ),
    )
    audio_listeners_per_address: int = field(
        default=40,
        metadata=_doc(
            "most open listener peers one client address (IPv6: one ipv6_limit_prefix "
            "network) may hold (0: no limit); loopback is not counted",
            "media",
            metavar="N",
        ),
    )
    recordings_dir: Path | None = field(
        default=None,
        metadata=_doc(
            "folder of meeting recordings",
            "storage",
            metavar="DIR",
            default_text="DATA_DIR/recordings",
        ),
    )
    identity_max_publishers: int = field(
        default=16,
        metadata=_doc(
            "most identity-check cameras (committee members, the chair) one room receives "
            "at once (1-16: a viewer's offer of 16 VP8 slots is 14.8 KB, under the 16 KiB "
            "socket message limit)",
            "media",
            metavar="N",
        ),
    )
    identity_max_viewers: int = field(
        default=4,
        metadata=_doc(
            "most identity-check viewer peers (the chair, staff) one room sends to at once "
            "(1-16)",
            "media",
            metavar="N",
        ),
    )
    recording_retention_days: float = field(
        default=90.0,
        metadata=_doc(
            "days an unpublished recording is kept before deletion (0: keep all)",
            "storage",
            metavar="DAYS",
        ),
    )
    closed_session_staff_record: bool = field(
        # Off unless a city's rules allow it: a closed session (秘密会) is then recorded
        # into a staff-only record, never published (docs/recording.md).
        default=False,
        metadata=_doc(
            "while a recorded committee meets in closed session (秘密会), record the closed "
            "part into a staff-only record (never published; the public recording pauses "
            "either way)",
            "storage",
        ),
    )
    # VRM avatar uploads (issue 18; avatar/vrm_check.py): the defaults are cluster's, whose
    # limits the VRM files members already own were made to fit.
    avatar_max_bytes: int = field(
        default=25 * 1024 * 1024,
        metadata=_doc(
            "largest VRM avatar file staff may upload (bytes; more is refused while it is "
            "still arriving, never buffered)",
            "security",
            metavar="BYTES",
        ),
    )
    avatar_max_triangles: int = field(
        default=32_000,
        metadata=_doc("most triangles of an uploaded VRM avatar", "security", metavar="N"),
    )
    avatar_max_morph_targets: int = field(
        default=64,
        metadata=_doc("most morph targets (blend shapes) of one mesh of a VRM avatar",
                      "security", metavar="N"),
    )
    avatar_max_textures: int = field(
        default=16,
        metadata=_doc("most textures (images) of a VRM avatar", "security", metavar="N"),
    )
    avatar_max_texture_px: int = field(
        default=2048,
        metadata=_doc("longest side of any texture of a VRM avatar, in pixels", "security",
                      metavar="PIXELS"),
    )

    redis_url: str | None = field(
        default=None,
        metadata=_doc(
            "the Redis server joining this node to others "
            "(redis://host:6379/0, docs/cluster.md); none: one process",
            "cluster",
            metavar="URL",
            secret=True,
        ),
    )
    node_id: str | None = field(
        default=None,
        metadata=_doc("this node's name", "cluster", metavar="NAME", default_text="HOST:PORT"),
    )
    node_url: str | None = field(
        default=None,
        metadata=_doc(
            "this node's address for the other nodes' HTTP calls",
            "cluster",
            metavar="URL",
            default_text="http://HOST:PORT (127.0.0.1 for 0.0.0.0)",
        ),
    )
    cluster_role: str = field(
        default="any",
        metadata=_doc(
            "any (may become the leader: needs the database in DATA_DIR) or "
            "edge (never leads: needs only a copy of the secret file, on any machine)",
            "cluster",
            choices=("any", "edge"),
        ),
    )
    cluster_lease_seconds: float = field(
        default=5.0,
        metadata=_doc(
            "seconds a silent leader or node is waited for before the others take over its work",
            "cluster",
            metavar="SECONDS",
        ),
    )

    @property
    def database_path(self) -> Path:
        return self.data_dir / "hiroba.sqlite3"

    @property
    def secret_path(self) -> Path:
        return self.secret_file or self.data_dir / "secret.key"

    @property
    def model_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def recordings_path(self) -> Path:
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def node_name(self) -> str:
        return self.node_id or f"{self.host}:{self.port}"

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def zone(self) -> ZoneInfo:
        """:attr:`time_zone` as a tzinfo (checked when the settings were loaded)."""
        return _zone(self.time_zone)


@functools.cache
def _zone(name: str) -> ZoneInfo:
    # Held here for the life of the process: ZoneInfo's own cache may let a zone go, and
    # loading it again reads a file, which must not happen on the event loop.
    return ZoneInfo(name)


class Source(StrEnum):
    """Where a setting's value came from; an earlier one wins over a later one."""

    FLAG = "flag"
    ENVIRONMENT = "environment"
    FILE = "file"
    DEFAULT = "default"


@dataclass(frozen=True)
class SettingInfo:
    """One setting as ``hiroba serve --help`` and ``hiroba config show`` present it."""

    name: str
    #: The field's real type (``int``, ``Path | None``, ``tuple[str, ...]`` ...).
    type: Any
    default: object
    doc: str
    #: A key of :data:`GROUPS`; ``None`` only for a field someone forgot to group (a test
    #: refuses that).
    group: str | None
    metavar: str
    choices: tuple[str, ...]
    secret: bool
    #: How ``--help`` states a default worked out from other settings (else from ``default``).
    default_text: str | None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return env_name(self.name)


def setting_fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(Settings))


def env_name(name: str) -> str:
    return "HIROBA_" + name.upper()


@functools.cache
def setting_info() -> tuple[SettingInfo, ...]:
    """Every setting with its real type and metadata, in the order of :class:`Settings`."""
    hints = typing.get_type_hints(Settings)
    infos = []
    for f in setting_fields():
        meta = f.metadata
        choices: tuple[str, ...] = meta.get("choices", ())
        metavar = meta.get("metavar") or (
            "{" + ",".join(choices) + "}" if choices else _type_metavar(hints[f.name])
        )
        infos.append(
            SettingInfo(
                name=f.name, type=hints[f.name], default=f.default, doc=meta["doc"],
                group=meta.get("group"), metavar=metavar, choices=choices,
                secret=bool(meta.get("secret", False)), default_text=meta.get("default_text"),
            )
        )  # fmt: skip
    return tuple(infos)


# One converter per real scalar type, for both kinds of input: text (a flag, an environment
# variable) and TOML's own values (a file); server/config/typed.py builds ``X | None`` and
# ``tuple[X, ...]`` from them. Any other type has no converter, so a new setting of a type
# nobody taught this module fails loudly (tests/unit/test_settings_sources.py) instead of
# silently becoming a string.


def _to_int(raw: object) -> int:
    if isinstance(raw, str):
        return int(raw.strip())
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise TypeError(raw)


def _to_float(raw: object) -> float:
    if isinstance(raw, str):
        value = float(raw.strip())
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    else:
        raise TypeError(raw)
    if not math.isfinite(value):
        raise ValueError(raw)
    return value


def _to_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
    raise ValueError(raw)


def _to_str(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    raise TypeError(raw)


def _to_path(raw: object) -> Path:
    if isinstance(raw, str) and raw.strip():
        return Path(raw)
    raise ValueError(raw)


_SCALARS: dict[type, tuple[Scalar, str, str]] = {
    # type: (converter, what it expects, metavar when the field names none)
    int: (_to_int, "a whole number", "N"),
    float: (_to_float, "a number", "NUMBER"),
    bool: (_to_bool, "true or false", ""),
    str: (_to_str, "text", "TEXT"),
    Path: (_to_path, "a path", "PATH"),
}


_CONVERTERS: dict[type, Scalar] = {tp: entry[0] for tp, entry in _SCALARS.items()}


def _type_metavar(tp: Any) -> str:
    found = shape(tp, _SCALARS)
    if found.kind == "scalar":
        return _SCALARS[found.args[0]][2]
    if found.kind == "tuple":
        raise TypeError(f"no settings converter for the type {tp!r}")
    return _type_metavar(found.args[0]) + (",..." if found.kind == "list" else "")


def _converter(tp: Any) -> Scalar:
    """The converter of a setting of type ``tp``; ``TypeError`` at once for a type that no
    converter handles."""
    _type_metavar(tp)
    return functools.partial(convert, tp, scalars=_CONVERTERS, lenient=True)


def _expected(tp: Any) -> str:
    found = shape(tp, _SCALARS)
    if found.kind == "scalar":
        return _SCALARS[found.args[0]][1]
    if found.kind == "optional":
        return _expected(found.args[0]) + " or nothing"
    return "a comma-separated list (or a TOML array) of " + _expected(found.args[0])


def parse_setting(info: SettingInfo, raw: object, where: str) -> object:
    """``raw`` (text, or a value read from TOML) as the value of the setting ``info``;
    ``where`` names the input in the error that refuses it."""
    try:
        value = _converter(info.type)(raw)
        if info.choices and isinstance(value, str):
            value = value.lower()
            if value not in info.choices:
                raise ValueError(raw)
    except (TypeError, ValueError) as exc:
        wanted = " or ".join(info.choices) if info.choices else _expected(info.type)
        raise HirobaError(
            Reason.BAD_FIELD,
            f"setting {info.name} ({where}): cannot use {raw!r}; expected {wanted}",
        ) from exc
    return value


@dataclass(frozen=True)
class ResolvedSettings:
    """The settings in effect, and where each value came from."""

    settings: Settings
    #: Setting name -> the input that set it (:attr:`Source.DEFAULT` when none did).
    sources: Mapping[str, Source]
    #: The TOML file read (``--config`` or ``HIROBA_CONFIG``), if any.
    config_file: Path | None


def resolve_settings(
    environ: Mapping[str, str],
    overrides: Mapping[str, object] | None = None,
    config_file: Path | None = None,
) -> ResolvedSettings:
    """Build the settings from a TOML file, the environment and explicit overrides (the
    command-line flags; ``None`` means not given), saying where each value came from."""
    infos = {info.name: info for info in setting_info()}
    values: dict[str, object] = {}
    sources: dict[str, Source] = {}
    path = config_file
    if path is None and environ.get("HIROBA_CONFIG"):
        path = Path(environ["HIROBA_CONFIG"])
    if path is not None:
        try:
            with path.open("rb") as fh:
                table = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise HirobaError(Reason.BAD_FIELD, f"config file {path}: {exc}") from exc
        for key, raw in table.items():
            if key not in infos:
                raise HirobaError(
                    Reason.UNKNOWN_FIELD, f"config file {path}: unknown setting {key}"
                )
            values[key] = parse_setting(infos[key], raw, f"config file {path}")
            sources[key] = Source.FILE
    for info in infos.values():
        if info.env in environ:
            values[info.name] = parse_setting(info, environ[info.env], f"environment {info.env}")
            sources[info.name] = Source.ENVIRONMENT
    for name, raw in (overrides or {}).items():
        if name not in infos:
            raise HirobaError(Reason.UNKNOWN_FIELD, f"unknown setting {name}")
        if raw is not None:
            values[name] = parse_setting(infos[name], raw, f"flag {infos[name].flag}")
            sources[name] = Source.FLAG
    settings = Settings(**values)  # type: ignore[arg-type]
    _check(settings)
    return ResolvedSettings(
        settings, {name: sources.get(name, Source.DEFAULT) for name in infos}, path
    )


def load_settings(
    environ: Mapping[str, str],
    overrides: Mapping[str, object] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build the settings from a TOML file, the environment and explicit overrides."""
    return resolve_settings(environ, overrides, config_file).settings


#: What ``hiroba config show`` prints instead of a secret.
MASK = "***"
_SECRET_QUERY_KEYS = frozenset(
    {"password", "pass", "passwd", "pwd", "secret", "token", "key", "auth", "credential"}
)


def shown_value(info: SettingInfo, value: object) -> object:
    """``value`` of the setting ``info`` as it may be shown to anyone reading a terminal or a
    log: a secret setting's value masked (a URL keeps its scheme, host and path), and in
    any URL a password or a password-like query parameter."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(shown_value(info, v) for v in value)
    if isinstance(value, str):
        return _mask_text(value, info.secret)
    return MASK if info.secret else value


def _mask_text(text: str, secret: bool) -> str:
    try:
        parts = urlsplit(text)
    except ValueError:
        return MASK if secret else text
    if not (parts.scheme and text.startswith(parts.scheme + "://")):
        # Not a URL with an authority ("turn:host:3478" carries no credentials): a secret
        # is masked whole.
        return MASK if secret and text else text
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, colon, _ = userinfo.partition(":")
        if secret or not user:
            # Redis takes "redis://PASSWORD@host" too: in a secret URL the user goes as well.
            netloc = f"{MASK}@{host}"
        elif colon:
            netloc = f"{user}:{MASK}@{host}"
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(k.lower() in _SECRET_QUERY_KEYS for k, _ in pairs):
        query = urlencode(
            [(k, MASK if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*"
        )
    # Rebuilt by hand: urlunsplit drops the "//" of a URL without a host (unix:///path).
    return (
        f"{parts.scheme}://{netloc}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def _check(settings: Settings) -> None:
    """Refuse values each fine alone but wrong here, or together."""
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise HirobaError(Reason.BAD_FIELD, "tls_cert and tls_key must be given together")
    if settings.public_base_url:
        base = urlsplit(settings.public_base_url)
        if base.scheme not in ("http", "https") or not base.netloc or base.query or base.fragment:
            raise HirobaError(Reason.BAD_FIELD, "public_base_url must be an http(s) address "
                              "without query or fragment, such as https://hiroba.example.jp")
    if not 1 <= settings.tick_hz <= 60:
        raise HirobaError(Reason.BAD_FIELD, "tick_hz must be between 1 and 60")
    for name in ("tracking_head_min_cutoff", "tracking_face_min_cutoff", "tracking_d_cutoff"):
        if not getattr(settings, name) > 0:
            raise HirobaError(Reason.BAD_FIELD, f"{name} must be positive")
    if not (
        5 <= settings.floor_limit_seconds <= 6 * 3600 and 0 <= settings.floor_grace_seconds <= 600
    ):
        raise HirobaError(
            Reason.BAD_FIELD,
            "floor_limit_seconds must be 5 s to 6 h, floor_grace_seconds 0 to 600 s",
        )
    if not 0 <= settings.committee_absence_grace_seconds <= 3600:
        raise HirobaError(Reason.BAD_FIELD,
                          "committee_absence_grace_seconds must be 0 to 3600 s")
    try:
        settings.zone  # noqa: B018  (loads the zone: a bad name stops the start here)
    except (ZoneInfoNotFoundError, ValueError):
        raise HirobaError(
            Reason.BAD_FIELD,
            f"time_zone: unknown time zone {settings.time_zone!r}; give an IANA name such "
            "as Asia/Tokyo",
        ) from None
    if settings.max_connections_per_address < 0:
        raise HirobaError(Reason.BAD_FIELD, "max_connections_per_address must not be negative")
    if settings.http_header_timeout < 0 or settings.tcp_connections_per_address < 0:
        raise HirobaError(Reason.BAD_FIELD, "http_header_timeout and "
                          "tcp_connections_per_address must not be negative")
    if not (settings.http_heavy_per_minute > 0 and settings.http_media_per_minute > 0):
        raise HirobaError(Reason.BAD_FIELD, "http_heavy_per_minute and http_media_per_minute "
                          "must be positive")
    if not 1 <= settings.ipv6_limit_prefix <= 128:
        raise HirobaError(Reason.BAD_FIELD, "ipv6_limit_prefix must be 1 to 128")
    if settings.device_mints_per_window < 0 or settings.device_surge_per_minute < 0:
        raise HirobaError(Reason.BAD_FIELD, "device_mints_per_window and "
                          "device_surge_per_minute must not be negative")
    if not settings.device_mint_window > 0:
        raise HirobaError(Reason.BAD_FIELD, "device_mint_window must be positive")
    for name in ("avatar_max_bytes", "avatar_max_triangles", "avatar_max_morph_targets",
                 "avatar_max_textures", "avatar_max_texture_px"):
        if not getattr(settings, name) > 0:
            raise HirobaError(Reason.BAD_FIELD, f"{name} must be positive")
    if not 0 <= settings.gallery_audio_lag_ms <= 500:
        raise HirobaError(Reason.BAD_FIELD, "gallery_audio_lag_ms must be 0 to 500")
    if not (20 <= settings.gallery_frame_ms <= 200 and settings.gallery_frame_ms % 20 == 0):
        raise HirobaError(Reason.BAD_FIELD, "gallery_frame_ms must be 20 to 200, a multiple of 20")
    if min(settings.gallery_viewers_per_address, settings.gallery_max_per_room,
           settings.gallery_max_per_node, settings.gallery_busy_bytes) < 0 \
            or settings.gallery_cut_seconds <= 0:
        raise HirobaError(Reason.BAD_FIELD, "the gallery's caps must not be negative, "
                          "gallery_cut_seconds above 0")
    if settings.reserved_places < 0 or settings.gallery_per_address < 0:
        raise HirobaError(Reason.BAD_FIELD, "reserved_places and gallery_per_address must not "
                          "be negative")
    if not 0 < settings.gallery_share <= 1:
        raise HirobaError(Reason.BAD_FIELD, "gallery_share must be above 0, at most 1")
    if not settings.staff_login_attempts_per_minute > 0:
        raise HirobaError(Reason.BAD_FIELD, "staff_login_attempts_per_minute must be positive")
    if settings.staff_login_account_failures < 1:
        raise HirobaError(Reason.BAD_FIELD, "staff_login_account_failures must be at least 1")
    if not 0.05 <= settings.staff_recheck_seconds <= 5:
        # docs/security.md promises "at least every 5 s".
        raise HirobaError(Reason.BAD_FIELD, "staff_recheck_seconds must be 0.05 to 5")
    if not 0 < settings.staff_login_account_backoff_max <= settings.staff_login_account_window:
        raise HirobaError(Reason.BAD_FIELD, "staff_login_account_backoff_max must be positive "
                          "and at most staff_login_account_window")
    for name in ("tracking_head_beta", "tracking_face_beta", "model_fetch_timeout"):
        if not getattr(settings, name) >= 0:
            raise HirobaError(Reason.BAD_FIELD, f"{name} must not be negative")
    if not 1 <= settings.transcription_threads <= 16:
        raise HirobaError(Reason.BAD_FIELD, "transcription_threads must be 1 to 16")
    if not 1 <= settings.live_captions_threads <= 16:
        raise HirobaError(Reason.BAD_FIELD, "live_captions_threads must be 1 to 16")
    if not 1 <= settings.live_captions_waiting <= 20:
        raise HirobaError(Reason.BAD_FIELD, "live_captions_waiting must be 1 to 20")
    if not 0 <= settings.recording_retention_days <= 36_500:
        raise HirobaError(Reason.BAD_FIELD, "recording_retention_days must be 0 to 36500")
    for name in ("metrics_allow", "trusted_proxies"):
        for network in getattr(settings, name):
            try:
                ipaddress.ip_network(network)
            except ValueError:
                raise HirobaError(
                    Reason.BAD_FIELD, f"{name}: {network!r} is not a CIDR network"
                ) from None
    _check_media(settings)


def serves_other_machines(settings: Settings) -> bool:
    """Whether browsers of other machines reach this server: it listens on an address that
    is not loopback, or a reverse proxy (``trusted_proxies``) forwards them."""
    if settings.trusted_proxies:
        return True
    host = settings.host.strip().strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name or a wildcard ("0.0.0.0", "") may be any interface


def check_announced_addresses(settings: Settings) -> None:
    """Refuse to serve other machines without ``ice_host_addresses``: aioice would then
    offer every interface's address (private networks, VPNs, container bridges) to every
    citizen in each WebRTC answer (issue 14, finding 13). Hiroba has no TURN-only mode:
    behind TURN too, the relay reaches the server at an address it announces."""
    if serves_other_machines(settings) and not settings.ice_host_addresses:
        where = (f"listens on {settings.host}" if not settings.trusted_proxies
                 else "serves browsers through a proxy (trusted_proxies)")
        raise HirobaError(
            Reason.BAD_FIELD,
            f"this server {where} but ice_host_addresses is empty, so every WebRTC answer "
            "would announce all of this machine's interface addresses. Set "
            "--ice-host-addresses (HIROBA_ICE_HOST_ADDRESSES) to the address(es) browsers "
            "or the TURN server reach this machine at (docs/operations.md, \"Announced "
            "addresses\")",
        )


def _check_media(settings: Settings) -> None:
    """Face-tracking relay and WebRTC settings (see docs/operations.md)."""
    if not 1 <= settings.motion_hz <= 60 or not 0 < settings.motion_far_hz <= settings.motion_hz:
        raise HirobaError(
            Reason.BAD_FIELD, "need 1 <= motion_hz <= 60 and 0 < motion_far_hz <= motion_hz"
        )
    if settings.motion_datachannel_max < 0:
        raise HirobaError(Reason.BAD_FIELD, "motion_datachannel_max must not be negative")
    if not 1 <= settings.server_tracking_fps <= 60:
        raise HirobaError(Reason.BAD_FIELD, "server_tracking_fps must be between 1 and 60")
    if settings.server_tracking_max < 0:
        raise HirobaError(Reason.BAD_FIELD, "server_tracking_max must not be negative")
    if not 1 <= settings.audio_proximity_n <= settings.audio_slots <= 8:
        raise HirobaError(Reason.BAD_FIELD, "need 1 <= audio_proximity_n <= audio_slots <= 8")
    if not settings.offers_per_second > 0 or settings.offers_burst < 1:
        raise HirobaError(
            Reason.BAD_FIELD, "offers_per_second must be positive, offers_burst at least 1"
        )
    for name in ("audio_max_uplinks", "audio_max_listeners", "audio_uplinks_per_address",
                 "audio_listeners_per_address"):
        if getattr(settings, name) < 0:
            raise HirobaError(Reason.BAD_FIELD, f"{name} must not be negative")
    if not 16_000 <= settings.audio_speech_bitrate <= 24_000:
        raise HirobaError(Reason.BAD_FIELD, "audio_speech_bitrate must be 16000 to 24000")
    if not settings.audio_radius > 0 or not 0.5 <= settings.audio_positions_hz <= 20:
        raise HirobaError(
            Reason.BAD_FIELD, "audio_radius must be positive, audio_positions_hz 0.5 to 20"
        )
    for url in settings.ice_servers:
        if url.split(":", 1)[0] not in ("stun", "stuns", "turn", "turns"):
            raise HirobaError(Reason.BAD_FIELD, f"ice_servers: {url!r} is not a STUN/TURN URL")
    check_announced_addresses(settings)
    for address in settings.ice_host_addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise HirobaError(
                Reason.BAD_FIELD, f"ice_host_addresses: {address!r} is not an IP address"
            ) from None
    if not (1 <= settings.identity_max_publishers <= 16
            and 1 <= settings.identity_max_viewers <= 16):
        raise HirobaError(
            Reason.BAD_FIELD, "identity_max_publishers must be 1-16, identity_max_viewers 1-16"
        )
