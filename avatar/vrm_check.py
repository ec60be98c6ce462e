"""The VRM validator: every uploaded avatar passes here before anyone's browser parses it.

:func:`check_vrm` reads a GLB's header, its JSON chunk and the few bytes at the start of
each embedded image (never decoding pixels), and either returns a :class:`VrmReport` for
the console or raises :class:`AvatarRejected` whose ``limit`` names the rule:

=================  ==============================================================
``size``           the file is larger than ``max_bytes``
``glb``            not a glTF 2.0 binary: magic, version, lengths, chunk layout
``json``           the JSON chunk is too large, not JSON, or not the glTF shape
``triangles``      more triangles than ``max_triangles`` (every mesh instance)
``morph_targets``  a mesh with more morph targets than ``max_morph_targets``
``textures``       more images than ``max_textures``
``texture_size``   an image side above ``max_texture_px``, or a size we cannot read
``nodes``          more nodes than ``max_nodes``
``node_depth``     a node tree deeper than ``max_node_depth``, a cycle, two parents
``extensions``     an extension outside :data:`KNOWN_EXTENSIONS`
``external_uri``   a buffer or image with a ``uri`` (external or ``data:``)
``accessors``      an accessor, buffer view or buffer reaching past its data
``not_vrm``        no ``VRMC_vrm`` (1.0) or ``VRM`` (0.x) extension
``humanoid``       a humanoid without three-vrm's required bones (hips... head...)
=================  ==============================================================

Pure: no I/O, no asyncio; the server runs it in an executor. Each message says the figure
and the limit ("the model has 41,230 triangles; the limit is 32,000").
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from avatar.vrm_expressions import V0_TO_V1_PRESET, plan_expressions
from rooms.errors import HirobaError, Reason

#: Extensions a model may use. Anything else, used or required, is refused: the page's
#: loader would ignore or fail on it, and every extension is parser surface.
KNOWN_EXTENSIONS: frozenset[str] = frozenset(
    {
        "VRM",
        "VRMC_vrm",
        "VRMC_springBone",
        "VRMC_springBone_extended_collider",
        "VRMC_node_constraint",
        "VRMC_materials_mtoon",
        "VRMC_materials_hdr_emissiveMultiplier",
        "KHR_materials_unlit",
        "KHR_texture_transform",
        "KHR_materials_emissive_strength",
        "KHR_mesh_quantization",
    }
)

#: The bones three-vrm requires of a humanoid (it refuses the model without any of them).
REQUIRED_BONES: tuple[str, ...] = (
    "hips", "spine", "head", "leftUpperLeg", "leftLowerLeg", "leftFoot", "rightUpperLeg",
    "rightLowerLeg", "rightFoot", "leftUpperArm", "leftLowerArm", "leftHand",
    "rightUpperArm", "rightLowerArm", "rightHand",
)  # fmt: skip

_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_COMPONENT_SIZE = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
_TYPE_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_PERMISSIONS = {
    "onlyauthor": "only_author",
    "onlyseparatelylicensedperson": "licensed_person",
    "explicitlylicensedperson": "licensed_person",
    "everyone": "everyone",
}
_TEXT_MAX = 200


@dataclass(frozen=True, slots=True)
class VrmLimits:
    """What an avatar may hold. Defaults are cluster's (polygons, morphs, bytes)."""

    max_bytes: int = 25 * 1024 * 1024
    max_triangles: int = 32_000
    #: Per mesh: the largest number of morph targets any one primitive of it has.
    max_morph_targets: int = 64
    max_textures: int = 16
    #: The longer side of any image, in pixels.
    max_texture_px: int = 2048
    max_nodes: int = 1024
    max_node_depth: int = 64
    max_json_bytes: int = 4 * 1024 * 1024


class AvatarRejected(HirobaError):
    """The validator refused a file; ``limit`` names the rule (see the module docstring)."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(Reason.BAD_AVATAR, message)
        self.limit = limit

    def to_ack(self) -> dict[str, object]:
        """The acknowledgement (or HTTP body), with the rule that failed."""
        return {**super().to_ack(), "limit": self.limit}


@dataclass(frozen=True, slots=True)
class VrmReport:
    """What the console shows of an accepted model."""

    sha256: str
    bytes: int
    #: ``"0.x"`` or ``"1.0"``.
    version: str
    title: str
    authors: tuple[str, ...]
    #: Who may use the avatar: ``"only_author"`` | ``"licensed_person"`` | ``"everyone"``.
    permission: str
    #: Whether commercial use is allowed (1.0 ``personalProfit``/``corporation``, 0.x ``Allow``).
    commercial: bool
    #: The licence's name (0.x) or URL (1.0; ``otherLicenseUrl`` when given).
    licence: str
    triangles: int
    morph_targets: int
    textures: int
    max_texture_px: int
    nodes: int
    #: Expression names as three-vrm names them (0.x presets in their 1.0 names), sorted.
    expressions: tuple[str, ...]
    #: How many of the 52 ARKit shapes the model drives directly (perfect sync).
    perfect_sync: int
    #: Up to three main colours (``#rrggbb``) from the materials, by triangle count.
    colors: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out


def _fmt(n: int) -> str:
    return f"{n:,}"


def _refuse(limit: str, message: str) -> AvatarRejected:
    return AvatarRejected(limit, message)


def _over(limit: str, what: str, figure: int, allowed: int) -> AvatarRejected:
    return AvatarRejected(
        limit, f"the model has {_fmt(figure)} {what}; the limit is {_fmt(allowed)}"
    )


# --- typed access to untrusted JSON: anything of the wrong shape is a ``json`` refusal --------


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise _refuse("json", f"{where}.{key} is not a list")
    return value


def _dict(obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key, {})
    if not isinstance(value, dict):
        raise _refuse("json", f"{where}.{key} is not an object")
    return value


def _objects(obj: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    items = _list(obj, key, "glTF")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _refuse("json", f"{key}[{i}] is not an object")
    return items


def _int(value: Any, where: str, *, minimum: int = 0) -> int:
    # bool is an int in Python; JSON true is not an index.
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise _refuse("json", f"{where} is not an integer of at least {minimum}")
    return value


def _index(value: Any, size: int, where: str, limit: str = "json") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < size:
        raise _refuse(limit, f"{where} refers to {value!r}, outside 0..{size - 1}")
    return value


def _text(value: Any) -> str:
    """A meta text for the console: a string, controls removed, at most 200 characters."""
    if not isinstance(value, str):
        return ""
    return "".join(c for c in value if c.isprintable())[:_TEXT_MAX]


# --- the GLB container --------------------------------------------------------------------


def _split_glb(data: bytes, limits: VrmLimits) -> tuple[bytes, memoryview]:
    """The JSON and BIN chunks' payloads, after checking the container's layout (the BIN
    chunk as a view: a 20 MB upload is not copied to read a few headers)."""
    if len(data) < 20:
        raise _refuse("glb", f"the file is {len(data)} bytes, too short for a glTF binary")
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF":
        raise _refuse("glb", "the file is not a glTF binary (no glTF magic)")
    if version != 2:
        raise _refuse("glb", f"the glTF binary is version {version}; only version 2 is read")
    if length != len(data):
        raise _refuse(
            "glb", f"the header says {_fmt(length)} bytes; the file has {_fmt(len(data))}"
        )
    json_len, json_type = struct.unpack_from("<II", data, 12)
    if json_type != _CHUNK_JSON:
        raise _refuse("glb", "the first chunk is not JSON")
    if json_len > limits.max_json_bytes:
        raise _over("json", "bytes of JSON", json_len, limits.max_json_bytes)
    if json_len % 4 or 20 + json_len > len(data):
        raise _refuse(
            "glb", f"the JSON chunk's length {_fmt(json_len)} is misaligned or past the end"
        )
    json_bytes = data[20 : 20 + json_len]
    at = 20 + json_len
    if at == len(data):
        return json_bytes, memoryview(b"")
    if at + 8 > len(data):
        raise _refuse("glb", "a chunk header is cut short")
    bin_len, bin_type = struct.unpack_from("<II", data, at)
    if bin_type != _CHUNK_BIN:
        raise _refuse("glb", "the second chunk is not BIN")
    if bin_len % 4 or at + 8 + bin_len > len(data):
        raise _refuse(
            "glb", f"the BIN chunk's length {_fmt(bin_len)} is misaligned or past the end"
        )
    if at + 8 + bin_len != len(data):
        # Other chunk types are allowed by glTF but nothing needs them: less to trust.
        raise _refuse("glb", "the file holds data after the BIN chunk")
    return json_bytes, memoryview(data)[at + 8 : at + 8 + bin_len]


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8").rstrip(" \t\r\n\0")
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and integers too long to convert.
        raise _refuse("json", f"the JSON chunk is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(document, dict):
        raise _refuse("json", "the JSON chunk is not an object")
    asset = document.get("asset")
    if not isinstance(asset, dict) or not str(asset.get("version", "")).startswith("2."):
        raise _refuse("json", "the glTF asset version is not 2.x")
    return document


# --- rules ----------------------------------------------------------------------------------


def _walk_extension_keys(document: Any) -> Iterator[str]:
    """Every key of every ``extensions`` object in the document (``extras`` skipped: free
    application data), without recursion (a deeply nested JSON must not blow the stack)."""
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "extras":
                    continue
                if key == "extensions" and isinstance(value, dict):
                    yield from (str(k) for k in value)
                if isinstance(value, dict | list):
                    stack.append(value)
        else:
            # Lists of numbers (bounds, curves) are most of the items: only containers
            # can hold an ``extensions`` key.
            stack.extend(v for v in item if isinstance(v, dict | list))


def _check_extensions(document: dict[str, Any]) -> None:
    for key in ("extensionsUsed", "extensionsRequired"):
        for name in _list(document, key, "glTF"):
            if not isinstance(name, str) or name not in KNOWN_EXTENSIONS:
                raise _refuse(
                    "extensions", f"the model uses the unknown extension {name!r} ({key})"
                )
    for name in _walk_extension_keys(document):
        if name not in KNOWN_EXTENSIONS:
            raise _refuse("extensions", f"the model uses the unknown extension {name!r}")


def _check_buffers(document: dict[str, Any], bin_chunk: memoryview) -> list[tuple[int, int]]:
    """Buffer views as (offset into BIN, length), after checking every range."""
    buffers = _objects(document, "buffers")
    for i, buffer in enumerate(buffers):
        if "uri" in buffer:
            raise _refuse("external_uri", f"buffers[{i}] has a uri: everything must be in the file")
        _int(buffer.get("byteLength"), f"buffers[{i}].byteLength", minimum=1)
    if len(buffers) > 1:
        raise _refuse("external_uri", "only the file's own BIN buffer may be used")
    if buffers and buffers[0]["byteLength"] > len(bin_chunk):
        raise _refuse(
            "accessors",
            f"buffers[0] says {_fmt(buffers[0]['byteLength'])} bytes; "
            f"the BIN chunk has {_fmt(len(bin_chunk))}",
        )
    size = buffers[0]["byteLength"] if buffers else 0
    views: list[tuple[int, int]] = []
    for i, view in enumerate(_objects(document, "bufferViews")):
        where = f"bufferViews[{i}]"
        _index(view.get("buffer"), len(buffers), f"{where}.buffer", "accessors")
        offset = _int(view.get("byteOffset", 0), f"{where}.byteOffset")
        length = _int(view.get("byteLength"), f"{where}.byteLength", minimum=1)
        if offset + length > size:
            raise _refuse(
                "accessors", f"{where} reaches byte {_fmt(offset + length)} of {_fmt(size)}"
            )
        if "byteStride" in view:
            stride = _int(view["byteStride"], f"{where}.byteStride", minimum=4)
            if stride > 252 or stride % 4:
                raise _refuse(
                    "accessors", f"{where}.byteStride {stride} is not 4..252 in steps of 4"
                )
        views.append((offset, length))
    return views


def _check_accessors(
    document: dict[str, Any], views: list[tuple[int, int]], limits: VrmLimits
) -> list[int]:
    """Each accessor's element count, after checking it lies within its buffer view."""
    raw_views = document.get("bufferViews", [])
    counts: list[int] = []
    zeroed = 0
    for i, accessor in enumerate(_objects(document, "accessors")):
        where = f"accessors[{i}]"
        component = accessor.get("componentType")
        kind = accessor.get("type")
        # isinstance first: a list or an object is not hashable, so not a dict key.
        if (
            not isinstance(component, int)
            or not isinstance(kind, str)
            or component not in _COMPONENT_SIZE
            or kind not in _TYPE_WIDTH
        ):
            raise _refuse("accessors", f"{where} has an unknown componentType or type")
        count = _int(accessor.get("count"), f"{where}.count", minimum=1)
        element = _COMPONENT_SIZE[component] * _TYPE_WIDTH[kind]
        if "bufferView" in accessor:
            v = _index(accessor["bufferView"], len(views), f"{where}.bufferView", "accessors")
            offset = _int(accessor.get("byteOffset", 0), f"{where}.byteOffset")
            stride = raw_views[v].get("byteStride", element) or element
            end = offset + stride * (count - 1) + element
            if end > views[v][1]:
                raise _refuse(
                    "accessors",
                    f"{where} reaches byte {_fmt(end)} of a {_fmt(views[v][1])}-byte buffer view",
                )
        else:
            # No buffer view: the loader allocates ``count`` zeroed elements. Together such
            # accessors may not outgrow what a whole file may hold.
            zeroed += count * element
            if zeroed > limits.max_bytes:
                raise _refuse(
                    "accessors",
                    f"accessors without data would take {_fmt(zeroed)} bytes; "
                    f"the limit is {_fmt(limits.max_bytes)}",
                )
        sparse = accessor.get("sparse")
        if sparse is not None:
            _check_sparse(sparse, count, element, views, where)
        counts.append(count)
    return counts


def _check_sparse(
    sparse: Any, count: int, element: int, views: list[tuple[int, int]], where: str
) -> None:
    if not isinstance(sparse, dict):
        raise _refuse("json", f"{where}.sparse is not an object")
    n = _int(sparse.get("count"), f"{where}.sparse.count", minimum=1)
    if n > count:
        raise _refuse("accessors", f"{where}.sparse.count {n} exceeds the accessor's {count}")
    for part in ("indices", "values"):
        section = sparse.get(part)
        if not isinstance(section, dict):
            raise _refuse("json", f"{where}.sparse.{part} is not an object")
        v = _index(section.get("bufferView"), len(views), f"{where}.sparse.{part}", "accessors")
        offset = _int(section.get("byteOffset", 0), f"{where}.sparse.{part}.byteOffset")
        if part == "indices":
            component = section.get("componentType")
            if not isinstance(component, int) or component not in (5121, 5123, 5125):
                raise _refuse("accessors", f"{where}.sparse.indices has a bad componentType")
            width = _COMPONENT_SIZE[component]
        else:
            width = element
        if offset + width * n > views[v][1]:
            raise _refuse("accessors", f"{where}.sparse.{part} reach past their buffer view")


def _mesh_figures(
    document: dict[str, Any], counts: list[int], limits: VrmLimits
) -> tuple[list[int], list[dict[int, int]], int]:
    """Per mesh: triangles, triangles per material, and the largest morph target count."""
    triangles: list[int] = []
    by_material: list[dict[int, int]] = []
    morphs = 0
    n_materials = len(_objects(document, "materials"))
    for m, mesh in enumerate(_objects(document, "meshes")):
        total = 0
        materials: dict[int, int] = {}
        primitives = _list(mesh, "primitives", f"meshes[{m}]")
        if not primitives:
            raise _refuse("json", f"meshes[{m}] has no primitives")
        for p, prim in enumerate(primitives):
            where = f"meshes[{m}].primitives[{p}]"
            if not isinstance(prim, dict):
                raise _refuse("json", f"{where} is not an object")
            attributes = _dict(prim, "attributes", where)
            for name, acc in attributes.items():
                _index(acc, len(counts), f"{where}.attributes.{name}", "accessors")
            mode = prim.get("mode", 4)
            if mode not in range(7):
                raise _refuse("json", f"{where}.mode {mode!r} is not a glTF mode")
            if "indices" in prim:
                n = counts[_index(prim["indices"], len(counts), f"{where}.indices", "accessors")]
            elif "POSITION" in attributes:
                n = counts[attributes["POSITION"]]
            else:
                n = 0
            # Triangles (4) are n/3; strips and fans (5, 6) n-2; points and lines count one
            # per vertex, which over-counts them: conservative.
            tris = n // 3 if mode == 4 else max(0, n - 2) if mode in (5, 6) else n
            total += tris
            if "material" in prim:
                material = _index(prim["material"], n_materials, f"{where}.material")
                materials[material] = materials.get(material, 0) + tris
            targets = _list(prim, "targets", where)
            for t, target in enumerate(targets):
                if not isinstance(target, dict):
                    raise _refuse("json", f"{where}.targets[{t}] is not an object")
                for name, acc in target.items():
                    _index(acc, len(counts), f"{where}.targets[{t}].{name}", "accessors")
            if len(targets) > limits.max_morph_targets:
                raise _refuse(
                    "morph_targets",
                    f"the model has {_fmt(len(targets))} morph targets on mesh {m}; "
                    f"the limit is {_fmt(limits.max_morph_targets)}",
                )
            morphs = max(morphs, len(targets))
        triangles.append(total)
        by_material.append(materials)
    return triangles, by_material, morphs


def _check_nodes(
    document: dict[str, Any], n_meshes: int, n_accessors: int, limits: VrmLimits
) -> list[int]:
    """How many times each mesh is drawn (node instances), after checking the node tree."""
    nodes = _objects(document, "nodes")
    parent = [-1] * len(nodes)
    for i, node in enumerate(nodes):
        for child in _list(node, "children", f"nodes[{i}]"):
            c = _index(child, len(nodes), f"nodes[{i}].children")
            if parent[c] != -1 or c == i:
                raise _refuse("node_depth", f"nodes[{c}] has two parents or is its own child")
            parent[c] = i
    # Depth of every node by walking up to a memoised ancestor; a walk that meets itself
    # is a cycle. Each node is settled once: linear in the node count.
    depth = [0] * len(nodes)
    settled = [False] * len(nodes)
    deepest = 0
    for start in range(len(nodes)):
        path: list[int] = []
        on_path: set[int] = set()
        n = start
        while n != -1 and not settled[n]:
            if n in on_path:
                raise _refuse("node_depth", f"the node tree has a cycle through nodes[{n}]")
            on_path.add(n)
            path.append(n)
            n = parent[n]
        base = depth[n] if n != -1 else 0
        for k, node_index in enumerate(reversed(path)):
            depth[node_index] = base + k + 1
            settled[node_index] = True
        if path:
            deepest = max(deepest, depth[path[0]])
    if deepest > limits.max_node_depth:
        raise _over("node_depth", "levels of nodes", deepest, limits.max_node_depth)
    if len(nodes) > limits.max_nodes:
        raise _over("nodes", "nodes", len(nodes), limits.max_nodes)
    for s, scene in enumerate(_objects(document, "scenes")):
        for root in _list(scene, "nodes", f"scenes[{s}]"):
            _index(root, len(nodes), f"scenes[{s}].nodes")
    skins = _objects(document, "skins")
    for k, skin in enumerate(skins):
        for joint in _list(skin, "joints", f"skins[{k}]"):
            _index(joint, len(nodes), f"skins[{k}].joints")
        if "inverseBindMatrices" in skin:
            _index(skin["inverseBindMatrices"], n_accessors, f"skins[{k}].inverseBindMatrices")
    instances = [0] * n_meshes
    for i, node in enumerate(nodes):
        if "mesh" in node:
            instances[_index(node["mesh"], n_meshes, f"nodes[{i}].mesh")] += 1
        if "skin" in node:
            _index(node["skin"], len(skins), f"nodes[{i}].skin")
    return instances


def _image_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or WebP header; None when it cannot be read."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24 and head[12:16] == b"IHDR":
        width, height = struct.unpack_from(">II", head, 16)
        return int(width), int(height)
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(head)
    if len(head) >= 30 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        kind = head[12:16]
        if kind == b"VP8X":
            w = int.from_bytes(head[24:27], "little") + 1
            h = int.from_bytes(head[27:30], "little") + 1
            return w, h
        if kind == b"VP8L" and head[20] == 0x2F:
            bits = int.from_bytes(head[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if kind == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
            w, h = struct.unpack_from("<HH", head, 26)
            return w & 0x3FFF, h & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    # Segments are walked by their lengths; a bounded number of steps, whatever the data.
    for _ in range(1000):
        while at < len(data) and data[at] == 0xFF and at + 1 < len(data) and data[at + 1] == 0xFF:
            at += 1  # fill bytes
        if at + 4 > len(data) or data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        (length,) = struct.unpack_from(">H", data, at + 2)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if at + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, at + 5)
            return int(width), int(height)
        if marker in (0xD9, 0xDA) or length < 2:
            return None  # end of image or start of scan before any frame header
        at += 2 + length
    return None


def _check_images(
    document: dict[str, Any], views: list[tuple[int, int]], bin_chunk: memoryview, limits: VrmLimits
) -> int:
    """The longest image side, after checking count, URIs and readable sizes."""
    images = _objects(document, "images")
    for i, image in enumerate(images):
        if "uri" in image:
            uri = str(image["uri"])[:40]
            raise _refuse(
                "external_uri", f"images[{i}] has a uri ({uri!r}): images must be in the file"
            )
    if len(images) > limits.max_textures:
        raise _over("textures", "images", len(images), limits.max_textures)
    for t, texture in enumerate(_objects(document, "textures")):
        if "source" in texture:
            _index(texture["source"], len(images), f"textures[{t}].source")
    longest = 0
    for i, image in enumerate(images):
        v = _index(image.get("bufferView"), len(views), f"images[{i}].bufferView", "accessors")
        offset, length = views[v]
        # 64 KiB is ample for a JPEG's segments before its frame header (EXIF, ICC).
        size = _image_size(bytes(bin_chunk[offset : offset + min(length, 65536)]))
        if size is None:
            raise _refuse(
                "texture_size", f"images[{i}] is not a PNG, JPEG or WebP whose size can be read"
            )
        width, height = size
        if width < 1 or height < 1:
            raise _refuse("texture_size", f"images[{i}] is {width}x{height}")
        side = max(width, height)
        if side > limits.max_texture_px:
            raise _refuse(
                "texture_size",
                f"the model has an image of {_fmt(width)}x{_fmt(height)} pixels; "
                f"the limit is {_fmt(limits.max_texture_px)} on the longer side",
            )
        longest = max(longest, side)
    return longest


def _humanoid_bones(version: str, vrm: dict[str, Any], n_nodes: int) -> None:
    humanoid = vrm.get("humanoid")
    if not isinstance(humanoid, dict):
        raise _refuse("humanoid", "the VRM extension has no humanoid")
    bones: dict[str, Any] = {}
    raw = humanoid.get("humanBones")
    if version == "1.0" and isinstance(raw, dict):
        bones = {k: v.get("node") for k, v in raw.items() if isinstance(v, dict)}
    elif version == "0.x" and isinstance(raw, list):
        for bone in raw:
            if isinstance(bone, dict) and isinstance(bone.get("bone"), str):
                bones.setdefault(bone["bone"], bone.get("node"))
    missing = [b for b in REQUIRED_BONES if b not in bones]
    if missing:
        raise _refuse("humanoid", f"the humanoid lacks the bones {', '.join(missing)}")
    for name, node in bones.items():
        _index(node, n_nodes, f"humanoid bone {name[:40]}", "humanoid")


#: What VRM 1.0 requires of ``VRMC_vrm`` (and what three-vrm 3.5 accepts).
VRM1_SPEC_VERSIONS: Final = ("1.0", "1.0-beta")
VRM1_LICENCE_URL: Final = "https://vrm.dev/licenses/1.0/"


def _meta(version: str, vrm: dict[str, Any]) -> tuple[str, tuple[str, ...], str, bool, str]:
    meta = vrm.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    if version == "1.0":
        # The VRM 1.0 specification fixes both, and three-vrm refuses a model without them:
        # a file accepted here would then fall back to the procedural avatar in every page.
        if vrm.get("specVersion") not in VRM1_SPEC_VERSIONS:
            raise _refuse("not_vrm", f"VRMC_vrm.specVersion is {_text(vrm.get('specVersion'))!r}; "
                                     f"a VRM 1.0 model says {' or '.join(VRM1_SPEC_VERSIONS)}")
        if meta.get("licenseUrl") != VRM1_LICENCE_URL:
            raise _refuse("not_vrm", f"meta.licenseUrl is {_text(meta.get('licenseUrl'))!r}; a VRM "
                                     f"1.0 model names the VRM licence, {VRM1_LICENCE_URL}")
        title = _text(meta.get("name"))
        raw_authors = meta.get("authors")
        authors = tuple(_text(a) for a in raw_authors[:10]) if isinstance(raw_authors, list) else ()
        # The VRM 1.0 default is the strictest: only the author.
        permission = str(meta.get("avatarPermission", "onlyAuthor"))
        commercial = meta.get("commercialUsage") in ("personalProfit", "corporation")
        licence = _text(meta.get("otherLicenseUrl")) or _text(meta.get("licenseUrl"))
    else:
        title = _text(meta.get("title"))
        author = _text(meta.get("author"))
        authors = (author,) if author else ()
        permission = str(meta.get("allowedUserName", "OnlyAuthor"))
        commercial = meta.get("commercialUssageName") == "Allow"
        licence = _text(meta.get("licenseName"))
        if licence == "Other" and _text(meta.get("otherLicenseUrl")):
            licence = _text(meta.get("otherLicenseUrl"))
    # Anything unrecognised counts as the strictest permission.
    normal = _PERMISSIONS.get(permission.lower(), "only_author")
    return title, authors, normal, commercial, licence


def _expression_names(version: str, vrm: dict[str, Any]) -> tuple[str, ...]:
    names: set[str] = set()
    if version == "1.0":
        expressions = vrm.get("expressions")
        if isinstance(expressions, dict):
            for group in ("preset", "custom"):
                section = expressions.get(group)
                if isinstance(section, dict):
                    names.update(_text(k) for k in section)
    else:
        master = vrm.get("blendShapeMaster")
        groups = master.get("blendShapeGroups") if isinstance(master, dict) else None
        for group_ in groups if isinstance(groups, list) else []:
            if not isinstance(group_, dict):
                continue
            preset = group_.get("presetName")
            mapped = V0_TO_V1_PRESET.get(preset) if isinstance(preset, str) else None
            name = mapped or _text(group_.get("name"))
            if name:
                names.add(name)
    names.discard("")
    return tuple(sorted(names))


def _linear_to_hex(rgba: Any) -> str | None:
    if not isinstance(rgba, list) or len(rgba) < 3:
        return None
    out = []
    for c in rgba[:3]:
        if not isinstance(c, int | float) or isinstance(c, bool):
            return None
        c = min(1.0, max(0.0, float(c)))
        srgb = c * 12.92 if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055
        out.append(round(srgb * 255))
    return "#{:02x}{:02x}{:02x}".format(*out)


def _colors(
    document: dict[str, Any], vrm: dict[str, Any], weight_by_material: dict[int, int]
) -> tuple[str, ...]:
    """Up to three main colours: the base colours of the materials drawing most triangles
    (textured materials count by their factor; images are never decoded here)."""
    materials = document.get("materials", [])
    v0_props = vrm.get("materialProperties")
    weights: dict[str, int] = {}
    for m, tris in weight_by_material.items():
        material = materials[m]
        pbr = material.get("pbrMetallicRoughness")
        factor = pbr.get("baseColorFactor", [1.0, 1.0, 1.0, 1.0]) if isinstance(pbr, dict) else None
        if isinstance(v0_props, list) and m < len(v0_props) and isinstance(v0_props[m], dict):
            vectors = v0_props[m].get("vectorProperties")
            if isinstance(vectors, dict) and isinstance(vectors.get("_Color"), list):
                factor = vectors["_Color"]
        color = _linear_to_hex(factor)
        if color is not None:
            weights[color] = weights.get(color, 0) + tris
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(color for color, _ in ranked[:3])


def check_vrm(data: bytes, limits: VrmLimits) -> VrmReport:
    """Validate a VRM file; the report, or :class:`AvatarRejected` naming the rule broken."""
    if len(data) > limits.max_bytes:
        raise _over("size", "bytes", len(data), limits.max_bytes)
    json_chunk, bin_chunk = _split_glb(data, limits)
    document = _parse_json(json_chunk)
    _check_extensions(document)
    views = _check_buffers(document, bin_chunk)
    counts = _check_accessors(document, views, limits)
    mesh_tris, mesh_materials, morphs = _mesh_figures(document, counts, limits)
    instances = _check_nodes(document, len(mesh_tris), len(counts), limits)
    # Each mesh counts once per node drawing it (and once if no node does: conservative).
    triangles = sum(t * max(1, k) for t, k in zip(mesh_tris, instances, strict=True))
    if triangles > limits.max_triangles:
        raise _over("triangles", "triangles", triangles, limits.max_triangles)
    longest = _check_images(document, views, bin_chunk, limits)

    extensions = _dict(document, "extensions", "glTF")
    if isinstance(extensions.get("VRMC_vrm"), dict):
        version, vrm = "1.0", extensions["VRMC_vrm"]
    elif isinstance(extensions.get("VRM"), dict):
        version, vrm = "0.x", extensions["VRM"]
    else:
        raise _refuse(
            "not_vrm", "the file is a glTF model without a VRM extension (VRMC_vrm or VRM)"
        )
    _humanoid_bones(version, vrm, len(document.get("nodes", [])))
    title, authors, permission, commercial, licence = _meta(version, vrm)
    expressions = _expression_names(version, vrm)
    by_material: dict[int, int] = {}
    for m, materials in enumerate(mesh_materials):
        for material, tris in materials.items():
            by_material[material] = by_material.get(material, 0) + tris * max(1, instances[m])
    return VrmReport(
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
        version=version,
        title=title,
        authors=authors,
        permission=permission,
        commercial=commercial,
        licence=licence,
        triangles=triangles,
        morph_targets=morphs,
        textures=len(document.get("images", [])),
        max_texture_px=longest,
        nodes=len(document.get("nodes", [])),
        expressions=expressions,
        perfect_sync=len(plan_expressions(expressions).direct),
        colors=_colors(document, vrm, by_material),
    )
