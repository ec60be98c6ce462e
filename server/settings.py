"""Settings: loaded once into a frozen object; nothing else reads ``os.environ``.

Precedence, lowest first: defaults, the TOML file (``--config`` or ``HIROBA_CONFIG``),
``HIROBA_*`` environment variables, command-line flags.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rooms.errors import HirobaError, Reason

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
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
    "meetings": "Meeting procedure: the floor's time limits and the chat filter.",
    "motion": "Walking and the motion plane (/motion WebSocket) that carries positions and poses.",
    "media": "Voices and WebRTC: audio routing, ICE and TURN.",
    "tracking": "Face tracking: the model, its smoothing filters, tracking on the server.",
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
) -> dict[str, object]:
    """A field's metadata: its help ``text``, its ``group`` (a key of :data:`GROUPS`), the
    ``metavar`` ``--help`` shows (else one by type), the only values it accepts
    (``choices``, matched case-insensitively) and whether its value is ``secret`` (masked by
    ``hiroba config show``; a URL keeps its host, the rest of a secret goes)."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"setting group {group!r} is not one of {', '.join(GROUPS)}")
    return {"doc": text, "group": group, "metavar": metavar, "choices": choices,
            "secret": secret}  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """Every setting of a Hiroba process. Field docs appear in ``hiroba serve --help``."""

    host: str = field(
        default="127.0.0.1", metadata=_doc("address to listen on", "network", metavar="ADDRESS")
    )
    port: int = field(
        default=8080, metadata=_doc("TCP port to listen on", "network", metavar="PORT")
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
        metadata=_doc("folder of the browser client", "storage", metavar="DIR"),
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
        default=True, metadata=_doc("create the demo rooms and notices on first start", "storage")
    )
    secret_file: Path | None = field(
        default=None,
        metadata=_doc(
            "file holding the token-signing secret (default: DATA_DIR/secret.key)",
            "security",
            metavar="FILE",
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
            "meetings: time limit when the floor is given without one, in seconds",
            "meetings",
            metavar="SECONDS",
        ),
    )
    floor_grace_seconds: float = field(
        default=10.0,
        metadata=_doc(
            "meetings: grace after a speaker's limit before the automatic mute",
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
    staff_login_attempts_per_minute: float = field(
        default=10.0,
        metadata=_doc(
            "staff login attempts allowed per client address per minute",
            "security",
            metavar="PER_MINUTE",
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
            "folder for the face-tracking model (default: DATA_DIR/models)",
            "tracking",
            metavar="DIR",
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
    tracking_head_min_cutoff: float = field(
        default=0.5,
        metadata=_doc(
            "face tracking: head smoothing cutoff at rest, in hertz", "tracking", metavar="HZ"
        ),
    )
    tracking_head_beta: float = field(
        default=0.1,
        metadata=_doc(
            "face tracking: how fast the head cutoff rises with speed (per deg/s)",
            "tracking",
            metavar="BETA",
        ),
    )
    tracking_face_min_cutoff: float = field(
        default=1.0,
        metadata=_doc(
            "face tracking: expression smoothing cutoff at rest, in hertz", "tracking", metavar="HZ"
        ),
    )
    tracking_face_beta: float = field(
        default=5.0,
        metadata=_doc(
            "face tracking: how fast the expression cutoff rises with speed",
            "tracking",
            metavar="BETA",
        ),
    )
    tracking_d_cutoff: float = field(
        default=1.0,
        metadata=_doc(
            "face tracking: cutoff for the speed estimate, in hertz", "tracking", metavar="HZ"
        ),
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
            "IP addresses WebRTC may offer as host candidates (comma separated, loopback "
            "allowed); none: every non-loopback interface",
            "media",
            metavar="IP,...",
        ),
    )
    audio_slots: int = field(
        default=3,
        metadata=_doc(
            "audio: voices each listener's browser can play at once (1-8)", "media", metavar="N"
        ),
    )
    audio_proximity_n: int = field(
        default=3,
        metadata=_doc(
            "audio: loudest nearby plaza speakers each listener hears (<= audio_slots)",
            "media",
            metavar="N",
        ),
    )
    audio_radius: float = field(
        default=12.0,
        metadata=_doc(
            "audio: metres within which plaza speakers are heard", "media", metavar="METRES"
        ),
    )
    audio_speech_bitrate: int = field(
        default=20_000,
        metadata=_doc(
            "audio: Opus bitrate speakers are asked to send, bit/s (16000-24000)",
            "media",
            metavar="BIT/S",
        ),
    )
    audio_positions_hz: float = field(
        default=4.0,
        metadata=_doc(
            "audio: plaza positions fed to proximity routing per second", "media", metavar="HZ"
        ),
    )
    recordings_dir: Path | None = field(
        default=None,
        metadata=_doc(
            "folder of meeting recordings (default: DATA_DIR/recordings)", "storage", metavar="DIR"
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

    redis_url: str | None = field(
        default=None,
        metadata=_doc(
            "cluster mode: the Redis server joining this node to others "
            "(redis://host:6379/0, docs/cluster.md); none: one process",
            "cluster",
            metavar="URL",
            secret=True,
        ),
    )
    node_id: str | None = field(
        default=None,
        metadata=_doc(
            "cluster mode: this node's name (default: host:port)", "cluster", metavar="NAME"
        ),
    )
    node_url: str | None = field(
        default=None,
        metadata=_doc(
            "cluster mode: this node's address for the other nodes' HTTP calls "
            "(default: http://HOST:PORT, 127.0.0.1 for 0.0.0.0)",
            "cluster",
            metavar="URL",
        ),
    )
    cluster_role: str = field(
        default="any",
        metadata=_doc(
            "cluster mode: any (may become the leader: needs the database in DATA_DIR) or "
            "edge (never leads: needs only a copy of the secret file, on any machine)",
            "cluster",
            choices=("any", "edge"),
        ),
    )
    cluster_lease_seconds: float = field(
        default=5.0,
        metadata=_doc(
            "cluster mode: seconds a silent leader or node is waited for before the others "
            "take over its work",
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


def setting_fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(Settings))


def env_name(name: str) -> str:
    return "HIROBA_" + name.upper()


def _convert(name: str, raw: object) -> object:
    f = {f.name: f for f in setting_fields()}[name]
    kind = str(f.type)
    try:
        if kind == "int":
            return int(raw)  # type: ignore[call-overload]
        if kind == "float":
            return float(raw)  # type: ignore[arg-type]
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind == "Path":
            return Path(str(raw))
        if kind == "Path | None":
            return None if raw in (None, "") else Path(str(raw))
        if kind == "str | None":
            return None if raw in (None, "") else str(raw)
        if kind == "tuple[str, ...]":
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(str(i).strip() for i in items if str(i).strip())
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise HirobaError(Reason.BAD_FIELD, f"setting {name}: cannot use {raw!r}") from exc


def load_settings(
    environ: Mapping[str, str],
    overrides: Mapping[str, object] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build the settings from a TOML file, the environment and explicit overrides."""
    names = {f.name for f in setting_fields()}
    values: dict[str, object] = {}
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
            if key not in names:
                raise HirobaError(
                    Reason.UNKNOWN_FIELD, f"config file {path}: unknown setting {key}"
                )
            values[key] = _convert(key, raw)
    for name in names:
        if env_name(name) in environ:
            values[name] = _convert(name, environ[env_name(name)])
    for name, raw in (overrides or {}).items():
        if raw is not None:
            values[name] = _convert(name, raw)
    settings = Settings(**values)  # type: ignore[arg-type]
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise HirobaError(Reason.BAD_FIELD, "tls_cert and tls_key must be given together")
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
    if settings.max_connections_per_address < 0:
        raise HirobaError(Reason.BAD_FIELD, "max_connections_per_address must not be negative")
    if not settings.staff_login_attempts_per_minute > 0:
        raise HirobaError(Reason.BAD_FIELD, "staff_login_attempts_per_minute must be positive")
    for name in ("tracking_head_beta", "tracking_face_beta", "model_fetch_timeout"):
        if not getattr(settings, name) >= 0:
            raise HirobaError(Reason.BAD_FIELD, f"{name} must not be negative")
    if not 0 <= settings.recording_retention_days <= 36_500:
        raise HirobaError(Reason.BAD_FIELD, "recording_retention_days must be 0 to 36500")
    if settings.log_format not in ("text", "json"):
        raise HirobaError(Reason.BAD_FIELD, "log_format must be text or json")
    for name in ("metrics_allow", "trusted_proxies"):
        for network in getattr(settings, name):
            try:
                ipaddress.ip_network(network)
            except ValueError:
                raise HirobaError(
                    Reason.BAD_FIELD, f"{name}: {network!r} is not a CIDR network"
                ) from None
    _check_media(settings)
    return settings


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
    if not 16_000 <= settings.audio_speech_bitrate <= 24_000:
        raise HirobaError(Reason.BAD_FIELD, "audio_speech_bitrate must be 16000 to 24000")
    if not settings.audio_radius > 0 or not 0.5 <= settings.audio_positions_hz <= 20:
        raise HirobaError(
            Reason.BAD_FIELD, "audio_radius must be positive, audio_positions_hz 0.5 to 20"
        )
    for url in settings.ice_servers:
        if url.split(":", 1)[0] not in ("stun", "stuns", "turn", "turns"):
            raise HirobaError(Reason.BAD_FIELD, f"ice_servers: {url!r} is not a STUN/TURN URL")
    for address in settings.ice_host_addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise HirobaError(
                Reason.BAD_FIELD, f"ice_host_addresses: {address!r} is not an IP address"
            ) from None
