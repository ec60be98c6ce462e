"""Small, valid VRM files made from nothing, and hostile ones, for tests, bench and demos.

No sample VRM comes from the package registries, so Hiroba writes its own: a glTF 2.0
binary (GLB) holding a full humanoid skeleton in T-pose (hips up to the head, arms, legs,
optional shoulders and eyes) with simple unskinned box meshes parented to the bones, in a
few colours, and a face mesh on the head whose morph targets are the model's expressions:

- ``perfect_sync=True``: the 52 ARKit shapes, named in PascalCase (``JawOpen``) as
  perfect-sync models name them (VRM 1.0 ``expressions.custom``; VRM 0.x blend-shape groups
  with ``presetName: "unknown"``), and the presets bound to those same morph targets;
- otherwise only the presets, each with its own morph target (1.0 names ``aa``... ``relaxed``,
  ``surprised``; 0.x ``a``/``i``/``u``/``e``/``o``/``blink``/``blink_l``/``blink_r``/``joy``/
  ``angry``/``sorrow``/``fun``, and ``surprised`` as a custom group).

Every morph target moves vertices where the shape would (``JawOpen`` pulls the lower rows of
the face down), so a page test can see weights applied. VRM 1.0 models face +Z, VRM 0.x
ones -Z (as exporters write them; three-vrm's ``rotateVRM0`` turns them round).

:func:`hostile_vrm` makes the files the validator (:mod:`avatar.vrm_check`) must refuse.
Everything here is pure (returns bytes) and uses only the standard library and numpy.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from avatar.pose import BLENDSHAPE_NAMES
from avatar.vrm_expressions import ARKIT_TO_PRESET, pascal

GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
#: The only licence URL three-vrm accepts by default in a VRM 1.0 meta.
VRM1_LICENSE_URL = "https://vrm.dev/licenses/1.0/"

Permission = Literal["only_author", "licensed_person", "everyone"]
_PERMISSION_V1 = {
    "only_author": "onlyAuthor",
    "licensed_person": "onlySeparatelyLicensedPerson",
    "everyone": "everyone",
}
_PERMISSION_V0 = {
    "only_author": "OnlyAuthor",
    "licensed_person": "ExplicitlyLicensedPerson",
    "everyone": "Everyone",
}

#: VRM 1.0 presets the builder gives a model without perfect sync, and their 0.x names
#: (``None``: no 0.x preset, written as a custom group of that name).
PRESETS: tuple[tuple[str, str | None], ...] = (
    ("aa", "a"), ("ih", "i"), ("ou", "u"), ("ee", "e"), ("oh", "o"),
    ("blink", "blink"), ("blinkLeft", "blink_l"), ("blinkRight", "blink_r"),
    ("happy", "joy"), ("angry", "angry"), ("sad", "sorrow"), ("relaxed", "fun"),
    ("surprised", None),
)  # fmt: skip
LOOK_PRESETS: tuple[tuple[str, str], ...] = (
    ("lookUp", "lookup"), ("lookDown", "lookdown"), ("lookLeft", "lookleft"),
    ("lookRight", "lookright"),
)  # fmt: skip

#: For a perfect-sync model: which ARKit shapes (PascalCase morph targets) each preset
#: binds, beyond those of :data:`ARKIT_TO_PRESET`.
_EXTRA_PRESET_BINDS: Mapping[str, tuple[tuple[str, float], ...]] = {
    "relaxed": (("mouthSmileLeft", 0.5), ("mouthSmileRight", 0.5)),
    "lookUp": (("eyeLookUpLeft", 1.0), ("eyeLookUpRight", 1.0)),
    "lookDown": (("eyeLookDownLeft", 1.0), ("eyeLookDownRight", 1.0)),
    "lookLeft": (("eyeLookOutLeft", 1.0), ("eyeLookInRight", 1.0)),
    "lookRight": (("eyeLookInLeft", 1.0), ("eyeLookOutRight", 1.0)),
}

# The skeleton, VRM 1.0 orientation (+Y up, facing +Z, the model's left at +X): bone name,
# parent, world position in metres. Right-hand bones mirror the left ones.
_BONES: tuple[tuple[str, str | None, tuple[float, float, float]], ...] = (
    ("hips", None, (0.0, 0.95, 0.0)),
    ("spine", "hips", (0.0, 1.05, 0.0)),
    ("chest", "spine", (0.0, 1.2, 0.0)),
    ("neck", "chest", (0.0, 1.42, 0.0)),
    ("head", "neck", (0.0, 1.5, 0.0)),
    ("leftEye", "head", (0.032, 1.6, 0.09)),
    ("rightEye", "head", (-0.032, 1.6, 0.09)),
    ("leftShoulder", "chest", (0.03, 1.38, 0.0)),
    ("leftUpperArm", "leftShoulder", (0.18, 1.38, 0.0)),
    ("leftLowerArm", "leftUpperArm", (0.45, 1.38, 0.0)),
    ("leftHand", "leftLowerArm", (0.7, 1.38, 0.0)),
    ("rightShoulder", "chest", (-0.03, 1.38, 0.0)),
    ("rightUpperArm", "rightShoulder", (-0.18, 1.38, 0.0)),
    ("rightLowerArm", "rightUpperArm", (-0.45, 1.38, 0.0)),
    ("rightHand", "rightLowerArm", (-0.7, 1.38, 0.0)),
    ("leftUpperLeg", "hips", (0.09, 0.9, 0.0)),
    ("leftLowerLeg", "leftUpperLeg", (0.09, 0.5, 0.0)),
    ("leftFoot", "leftLowerLeg", (0.09, 0.08, 0.0)),
    ("rightUpperLeg", "hips", (-0.09, 0.9, 0.0)),
    ("rightLowerLeg", "rightUpperLeg", (-0.09, 0.5, 0.0)),
    ("rightFoot", "rightLowerLeg", (-0.09, 0.08, 0.0)),
)

# Box meshes: name, bone, centre relative to the bone, half sizes, material slot
# (0 main colour, 1 second colour, 2 skin). Mirrored pairs share one mesh.
_BOXES: tuple[tuple[str, str, tuple[float, float, float], tuple[float, float, float], int], ...] = (
    ("pelvis", "hips", (0.0, 0.0, 0.0), (0.16, 0.08, 0.1), 1),
    ("belly", "spine", (0.0, 0.07, 0.0), (0.15, 0.08, 0.09), 0),
    ("torso", "chest", (0.0, 0.1, 0.0), (0.18, 0.13, 0.1), 0),
    ("neck", "neck", (0.0, 0.04, 0.0), (0.04, 0.04, 0.04), 2),
    ("skull", "head", (0.0, 0.1, -0.005), (0.09, 0.11, 0.095), 2),
    ("hair", "head", (0.0, 0.19, -0.02), (0.1, 0.04, 0.1), 1),
    ("upperArm", "leftUpperArm", (0.13, 0.0, 0.0), (0.13, 0.04, 0.04), 0),
    ("lowerArm", "leftLowerArm", (0.12, 0.0, 0.0), (0.12, 0.035, 0.035), 0),
    ("hand", "leftHand", (0.06, 0.0, 0.0), (0.06, 0.02, 0.04), 2),
    ("upperLeg", "leftUpperLeg", (0.0, -0.2, 0.0), (0.06, 0.2, 0.06), 1),
    ("lowerLeg", "leftLowerLeg", (0.0, -0.21, 0.0), (0.05, 0.21, 0.05), 1),
    ("foot", "leftFoot", (0.0, -0.04, 0.05), (0.045, 0.04, 0.1), 1),
    ("eye", "leftEye", (0.0, 0.0, 0.0), (0.012, 0.012, 0.012), 3),
)
_MIRRORED = {"upperArm", "lowerArm", "hand", "upperLeg", "lowerLeg", "foot", "eye"}

# The face: a grid of _FACE_COLS x _FACE_ROWS vertices just in front of the skull, in
# head-bone space (row 0 at the chin).
_FACE_COLS = 5
_FACE_ROWS = 5
_FACE_Z = 0.092
_FACE_X0, _FACE_DX = -0.06, 0.03
_FACE_Y0, _FACE_DY = 0.02, 0.035


def hex_to_linear(color: str) -> list[float]:
    """``"#rrggbb"`` (sRGB) -> glTF's linear ``baseColorFactor`` (RGBA)."""
    value = color.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"a colour is #rrggbb, not {color!r}")
    out: list[float] = []
    for i in range(3):
        c = int(value[2 * i : 2 * i + 2], 16) / 255.0
        out.append(round(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4, 6))
    return [*out, 1.0]


def pack_glb(document: Mapping[str, Any], binary: bytes) -> bytes:
    """A GLB container: header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary = binary + b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + (8 + len(binary) if binary else 0)
    out = bytearray(struct.pack("<4sII", GLB_MAGIC, 2, total))
    out += struct.pack("<II", len(text), CHUNK_JSON) + text
    if binary:
        out += struct.pack("<II", len(binary), CHUNK_BIN) + binary
    return bytes(out)


def tiny_png(width: int = 4, height: int = 4, rgb: tuple[int, int, int] = (240, 200, 180)) -> bytes:
    """A real (decodable) RGB PNG of one colour with a lighter diagonal."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows += bytes(min(255, c + 15) for c in rgb) if x == y else bytes(rgb)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming ``width`` x ``height`` (no pixels): what a decoder
    would allocate for before it finds out there is nothing."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    crc = zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", crc)


class _Writer:
    """Accumulates the BIN buffer, bufferViews and accessors of one glTF document."""

    def __init__(self) -> None:
        self.binary = bytearray()
        self.buffer_views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def view(self, payload: bytes, target: int | None = None) -> int:
        self.binary += b"\0" * (-len(self.binary) % 4)
        view: dict[str, Any] = {
            "buffer": 0,
            "byteOffset": len(self.binary),
            "byteLength": len(payload),
        }
        if target is not None:
            view["target"] = target
        self.binary += payload
        self.buffer_views.append(view)
        return len(self.buffer_views) - 1

    def vec3(self, values: npt.NDArray[np.float32], *, bounds: bool = True) -> int:
        array = np.ascontiguousarray(values, dtype="<f4").reshape(-1, 3)
        accessor: dict[str, Any] = {
            "bufferView": self.view(array.tobytes(), 34962),
            "componentType": 5126,
            "count": int(array.shape[0]),
            "type": "VEC3",
        }
        if bounds:
            accessor["min"] = [float(v) for v in array.min(axis=0)]
            accessor["max"] = [float(v) for v in array.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def indices(self, values: Sequence[int] | npt.NDArray[np.int64]) -> int:
        array = np.asarray(values)
        large = int(array.max()) > 0xFFFF if array.size else False
        array = np.ascontiguousarray(array, dtype="<u4" if large else "<u2")
        self.accessors.append(
            {
                "bufferView": self.view(array.tobytes(), 34963),
                "componentType": 5125 if large else 5123,
                "count": int(array.size),
                "type": "SCALAR",
            }
        )
        return len(self.accessors) - 1


def _box(
    half: tuple[float, float, float], centre: tuple[float, float, float]
) -> tuple[npt.NDArray[np.float32], list[int]]:
    hx, hy, hz = half
    corners = np.array(
        [[sx * hx, sy * hy, sz * hz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)],
        dtype=np.float32,
    ) + np.array(centre, dtype=np.float32)
    # Corner index = 4*(x>0) + 2*(y>0) + (z>0); two counter-clockwise triangles a face.
    quads = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3))
    tris: list[int] = []
    for a, b, c, d in quads:
        tris += [a, b, c, a, c, d]
    return corners, tris


def _face_grid() -> tuple[npt.NDArray[np.float32], list[int]]:
    verts = np.array(
        [
            [_FACE_X0 + i * _FACE_DX, _FACE_Y0 + j * _FACE_DY, _FACE_Z]
            for j in range(_FACE_ROWS)
            for i in range(_FACE_COLS)
        ],
        dtype=np.float32,
    )
    tris: list[int] = []
    for j in range(_FACE_ROWS - 1):
        for i in range(_FACE_COLS - 1):
            a = j * _FACE_COLS + i
            b, c, d = a + 1, a + _FACE_COLS + 1, a + _FACE_COLS
            tris += [a, b, c, a, c, d]
    return verts, tris


_DOWN = ("down", "blink", "frown", "open", "lower", "sad", "angry", "aa", "oh")
_UP = ("up", "wide", "smile", "happy", "surprised", "relaxed")
_OUT = ("out", "stretch", "dimple", "ee", "ih", "left", "right")
_IN = ("in", "pucker", "funnel", "ou", "close", "press", "roll", "shrug")


def face_delta(name: str) -> npt.NDArray[np.float32]:
    """The morph target (position deltas, VRM 1.0 orientation) for an expression name:
    a region of the face grid picked from the name, moved in a direction picked from it."""
    lname = name.lower()
    cols = np.arange(_FACE_COLS)
    if lname.startswith(("brow", "surprised", "angry")):
        rows = [4]
    elif lname.startswith(("eye", "blink", "look")):
        rows = [3]
    elif lname.startswith(("cheek", "nose")):
        rows = [2]
    else:  # mouth, jaw, tongue and the vowels
        rows = [0, 1]
    if lname.endswith("left"):
        cols = cols[cols >= _FACE_COLS // 2]  # the model's left is +X
    elif lname.endswith("right"):
        cols = cols[cols <= _FACE_COLS // 2]
    if any(w in lname for w in _DOWN):
        direction = (0.0, -1.0, 0.0)
    elif any(w in lname for w in _UP):
        direction = (0.0, 1.0, 0.0)
    elif any(lname.startswith(w) or w in lname for w in _IN):
        direction = (0.0, 0.0, 1.0)
    elif any(w in lname for w in _OUT):
        direction = (1.0, 0.0, 0.0)
    else:
        direction = (0.0, 0.0, 1.0)
    delta = np.zeros((_FACE_ROWS, _FACE_COLS, 3), dtype=np.float32)
    for row in rows:
        # The chin row moves most (a jaw opens from the bottom).
        scale = 0.03 if row == 0 and len(rows) > 1 else 0.015
        for col in cols:
            vec = np.array(direction, dtype=np.float32) * scale
            if direction[0] and (col - _FACE_COLS // 2) != 0:
                vec[0] *= float(np.sign(col - _FACE_COLS // 2))  # outwards from the middle
            delta[row, col] = vec
    return delta.reshape(-1, 3)


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def build_vrm(
    *,
    version: Literal["0", "1"] = "1",
    perfect_sync: bool = False,
    colors: Sequence[str] = ("#3b5b92", "#2f2f38", "#f2d0b8"),
    title: str = "Test member",
    author: str = "Hiroba tests",
    permission: Permission = "everyone",
    commercial: bool = False,
    look_at: Literal["bone", "expression"] = "bone",
    texture: bool = True,
    shoulders: bool = True,
    eyes: bool = True,
    pad_bytes: int = 0,
    extra_json: Mapping[str, Any] | None = None,
) -> bytes:
    """A small valid VRM (GLB) that three-vrm loads; see the module docstring.

    ``colors``: main (clothes), second (trousers, hair), skin, as ``#rrggbb``.
    ``look_at``: ``"bone"`` (eyes turn; needs ``eyes``) or ``"expression"`` (lookUp...
    expressions). ``pad_bytes``: zero bytes appended to the BIN chunk (a big file without
    big content). ``extra_json``: merged into the glTF JSON last (dicts merged key by key).
    """
    if len(colors) < 3:
        raise ValueError("three colours: main, second, skin")
    if look_at == "bone" and not eyes:
        raise ValueError("a bone look-at needs eyes")
    v0 = version == "0"
    # VRM 0.x faces -Z: the same model turned half round about Y (x and z negated).
    flip = np.array([-1.0, 1.0, -1.0] if v0 else [1.0, 1.0, 1.0], dtype=np.float32)
    w = _Writer()

    # Materials: main, second, skin, eyes, face (skin, optionally textured).
    materials: list[dict[str, Any]] = [
        {
            "name": name,
            "pbrMetallicRoughness": {
                "baseColorFactor": hex_to_linear(color),
                "metallicFactor": 0.0,
                "roughnessFactor": 0.9,
            },
        }
        for name, color in (
            ("main", colors[0]),
            ("second", colors[1]),
            ("skin", colors[2]),
            ("eyes", "#1a1a1a"),
            ("face", colors[2]),
        )
    ]
    images: list[dict[str, Any]] = []
    if texture:
        rgb = tuple(int(colors[2].lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
        png = tiny_png(4, 4, (rgb[0], rgb[1], rgb[2]))
        images.append({"name": "face", "bufferView": w.view(png), "mimeType": "image/png"})
        materials[4]["pbrMetallicRoughness"]["baseColorFactor"] = [1.0, 1.0, 1.0, 1.0]
        materials[4]["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}

    # Nodes: the bones first (in _BONES order), then one node per mesh instance.
    bones = [
        b for b in _BONES if (shoulders or "Shoulder" not in b[0]) and (eyes or "Eye" not in b[0])
    ]
    index = {name: i for i, (name, _, _) in enumerate(bones)}
    world = {name: np.array(pos, dtype=np.float32) for name, _, pos in bones}
    nodes: list[dict[str, Any]] = []
    for name, parent, _pos in bones:
        if parent is not None and parent not in index:
            parent = "chest"  # no shoulders: the upper arms hang from the chest
        local = world[name] - (world[parent] if parent else 0.0)
        nodes.append(
            {"name": name, "translation": [float(v) for v in local * flip], "children": []}
        )
        if parent is not None:
            nodes[index[parent]]["children"].append(index[name])

    meshes: list[dict[str, Any]] = []
    box_mesh: dict[str, int] = {}
    for name, bone, centre, half, slot in _BOXES:
        if bone not in index:
            continue
        if name not in box_mesh:
            # Mirrored pairs share a mesh: built for the left side, the right node mirrors
            # it with a negative scale (three.js flips the winding for that).
            corners, tris = _box(half, centre)
            attrs = {"POSITION": w.vec3(corners * flip)}
            meshes.append(
                {
                    "name": name,
                    "primitives": [
                        {
                            "attributes": attrs,
                            "indices": w.indices(tris),
                            "material": slot,
                            "mode": 4,
                        }
                    ],
                }
            )
            box_mesh[name] = len(meshes) - 1
        sides = [bone, bone.replace("left", "right")] if name in _MIRRORED else [bone]
        for side in sides:
            node: dict[str, Any] = {"name": f"{side}_{name}", "mesh": box_mesh[name]}
            if side != bone:
                node["scale"] = [-1.0, 1.0, 1.0]
            nodes.append(node)
            nodes[index[side]]["children"].append(len(nodes) - 1)

    # The face and its morph targets.
    look_targets = look_at == "expression"
    if perfect_sync:
        target_names = [pascal(n) for n in BLENDSHAPE_NAMES]
    else:
        target_names = [p for p, _ in PRESETS] + (
            [p for p, _ in LOOK_PRESETS] if look_targets else []
        )
    verts, tris = _face_grid()
    targets = [{"POSITION": w.vec3(face_delta(n) * flip)} for n in target_names]
    meshes.append(
        {
            "name": "face",
            "primitives": [
                {
                    "attributes": {"POSITION": w.vec3(verts * flip)},
                    "indices": w.indices(tris),
                    "material": 4,
                    "mode": 4,
                    "targets": targets,
                }
            ],
            "weights": [0.0] * len(targets),
            "extras": {"targetNames": target_names},
        }
    )
    face_mesh = len(meshes) - 1
    nodes.append({"name": "face", "mesh": face_mesh})
    face_node = len(nodes) - 1
    nodes[index["head"]]["children"].append(face_node)
    for node in nodes:
        if node.get("children") == []:
            del node["children"]

    # Expressions: name (1.0) -> [(morph target index, weight 0..1)], and the 0.x names.
    target_index = {n: i for i, n in enumerate(target_names)}
    expressions: dict[str, list[tuple[int, float]]] = {}
    presets = list(PRESETS) + (list(LOOK_PRESETS) if look_targets else [])
    for preset, _v0name in presets:
        if not perfect_sync:
            expressions[preset] = [(target_index[preset], 1.0)]
        elif preset in _EXTRA_PRESET_BINDS:
            expressions[preset] = [
                (target_index[pascal(s)], wt) for s, wt in _EXTRA_PRESET_BINDS[preset]
            ]
        else:
            expressions[preset] = [(target_index[pascal(s)], 1.0) for s in ARKIT_TO_PRESET[preset]]
    custom = [pascal(n) for n in BLENDSHAPE_NAMES] if perfect_sync else []

    if v0:
        extension_name = "VRM"
        extension = _vrm0_extension(
            index, face_mesh, presets, expressions, custom, target_index,
            title=title, author=author, permission=permission, commercial=commercial,
            look_at=look_at, thumbnail=0 if texture else -1, materials=len(materials),
        )  # fmt: skip
    else:
        extension_name = "VRMC_vrm"
        extension = _vrm1_extension(
            index, face_node, expressions, custom, target_index,
            title=title, author=author, permission=permission, commercial=commercial,
            look_at=look_at, thumbnail=0 if texture else None,
        )  # fmt: skip

    if pad_bytes:
        w.binary += b"\0" * (-len(w.binary) % 4) + b"\0" * pad_bytes
    document: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "Hiroba avatar.vrm_build"},
        "extensionsUsed": [extension_name],
        "extensions": {extension_name: extension},
        "scene": 0,
        "scenes": [{"name": "avatar", "nodes": [index["hips"]]}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "accessors": w.accessors,
        "bufferViews": w.buffer_views,
        "buffers": [{"byteLength": len(w.binary) + (-len(w.binary) % 4)}],
    }
    if images:
        document["images"] = images
        document["samplers"] = [{"magFilter": 9729, "minFilter": 9729}]
        document["textures"] = [{"source": 0, "sampler": 0}]
    if extra_json:
        _deep_merge(document, extra_json)
    return pack_glb(document, bytes(w.binary))


def _vrm1_extension(
    index: Mapping[str, int],
    face_node: int,
    expressions: Mapping[str, list[tuple[int, float]]],
    custom: Sequence[str],
    target_index: Mapping[str, int],
    *,
    title: str,
    author: str,
    permission: Permission,
    commercial: bool,
    look_at: str,
    thumbnail: int | None,
) -> dict[str, Any]:
    def expression(binds: list[tuple[int, float]]) -> dict[str, Any]:
        return {
            "morphTargetBinds": [{"node": face_node, "index": i, "weight": wt} for i, wt in binds],
            "isBinary": False,
        }

    meta: dict[str, Any] = {
        "name": title,
        "version": "1",
        "authors": [author],
        "licenseUrl": VRM1_LICENSE_URL,
        "avatarPermission": _PERMISSION_V1[permission],
        "commercialUsage": "corporation" if commercial else "personalNonProfit",
        "allowExcessivelyViolentUsage": False,
        "allowExcessivelySexualUsage": False,
        "allowPoliticalOrReligiousUsage": False,
        "allowAntisocialOrHateUsage": False,
        "creditNotation": "required",
        "allowRedistribution": False,
        "modification": "prohibited",
    }
    if thumbnail is not None:
        meta["thumbnailImage"] = thumbnail
    range_map = {"inputMaxValue": 90.0, "outputScale": 10.0 if look_at == "bone" else 1.0}
    return {
        "specVersion": "1.0",
        "meta": meta,
        "humanoid": {"humanBones": {name: {"node": i} for name, i in index.items()}},
        "expressions": {
            "preset": {name: expression(binds) for name, binds in expressions.items()},
            "custom": {name: expression([(target_index[name], 1.0)]) for name in custom},
        },
        "lookAt": {
            "type": look_at,
            "offsetFromHeadBone": [0.0, 0.1, 0.0],
            "rangeMapHorizontalInner": range_map,
            "rangeMapHorizontalOuter": range_map,
            "rangeMapVerticalDown": range_map,
            "rangeMapVerticalUp": range_map,
        },
    }


def _vrm0_extension(
    index: Mapping[str, int],
    face_mesh: int,
    presets: Sequence[tuple[str, str | None]],
    expressions: Mapping[str, list[tuple[int, float]]],
    custom: Sequence[str],
    target_index: Mapping[str, int],
    *,
    title: str,
    author: str,
    permission: Permission,
    commercial: bool,
    look_at: str,
    thumbnail: int,
    materials: int,
) -> dict[str, Any]:
    def group(name: str, preset: str, binds: list[tuple[int, float]]) -> dict[str, Any]:
        return {
            "name": name,
            "presetName": preset,
            # 0.x weights are 0..100.
            "binds": [{"mesh": face_mesh, "index": i, "weight": wt * 100.0} for i, wt in binds],
            "materialValues": [],
            "isBinary": False,
        }

    groups = []
    for v1name, v0name in presets:
        if v0name is None:
            groups.append(group(v1name, "unknown", expressions[v1name]))
        else:
            groups.append(group(v0name.capitalize(), v0name, expressions[v1name]))
    groups += [group(name, "unknown", [(target_index[name], 1.0)]) for name in custom]
    curve = {
        "curve": [0, 0, 0, 1, 1, 1, 1, 0],
        "xRange": 90,
        "yRange": 10 if look_at == "bone" else 1,
    }
    return {
        "exporterVersion": "Hiroba avatar.vrm_build",
        "specVersion": "0.0",
        "meta": {
            "title": title,
            "version": "1",
            "author": author,
            "contactInformation": "",
            "reference": "",
            "texture": thumbnail,
            "allowedUserName": _PERMISSION_V0[permission],
            "violentUssageName": "Disallow",
            "sexualUssageName": "Disallow",
            "commercialUssageName": "Allow" if commercial else "Disallow",
            "otherPermissionUrl": "",
            "licenseName": "CC_BY_NC_ND" if not commercial else "CC_BY_ND",
            "otherLicenseUrl": "",
        },
        "humanoid": {
            "humanBones": [
                {"bone": name, "node": i, "useDefaultValues": True} for name, i in index.items()
            ],
            "armStretch": 0.05,
            "legStretch": 0.05,
            "upperArmTwist": 0.5,
            "lowerArmTwist": 0.5,
            "upperLegTwist": 0.5,
            "lowerLegTwist": 0.5,
            "feetSpacing": 0,
            "hasTranslationDoF": False,
        },
        "firstPerson": {
            "firstPersonBone": index["head"],
            "firstPersonBoneOffset": {"x": 0, "y": 0.1, "z": 0},
            "meshAnnotations": [],
            "lookAtTypeName": "Bone" if look_at == "bone" else "BlendShape",
            "lookAtHorizontalInner": curve,
            "lookAtHorizontalOuter": curve,
            "lookAtVerticalDown": curve,
            "lookAtVerticalUp": curve,
        },
        "blendShapeMaster": {"blendShapeGroups": groups},
        "secondaryAnimation": {"boneGroups": [], "colliderGroups": []},
        "materialProperties": [
            {
                "name": f"m{i}",
                "shader": "VRM_USE_GLTFSHADER",
                "renderQueue": 2000,
                "floatProperties": {},
                "vectorProperties": {},
                "textureProperties": {},
                "keywordMap": {},
                "tagMap": {},
            }
            for i in range(materials)
        ],
    }


HostileKind = Literal[
    "oversized", "too_many_triangles", "too_many_morphs", "too_many_textures",
    "external_uri", "data_uri", "broken_chunk", "bad_magic", "huge_texture", "deep_nodes",
    "node_cycle", "unknown_extension", "not_vrm", "accessor_out_of_range", "json_too_large",
]  # fmt: skip
HOSTILE_KINDS: tuple[str, ...] = get_args(HostileKind)


def hostile_vrm(kind: str, *, size: int | None = None, version: Literal["0", "1"] = "1") -> bytes:
    """A file the validator must refuse, of one ``kind`` (see :data:`HOSTILE_KINDS`).

    ``size`` scales the offence where there is one figure: total bytes for ``oversized``
    (default 25 MiB + 1), triangles for ``too_many_triangles`` (32,001), morph targets for
    ``too_many_morphs`` (65), images for ``too_many_textures`` (17), the claimed side for
    ``huge_texture`` (16384), the chain length for ``deep_nodes`` (10,000), JSON bytes for
    ``json_too_large`` (4 MiB + 1). Tests pass small limits and small sizes.
    """
    if kind == "oversized":
        target = size if size is not None else 25 * 1024 * 1024 + 1
        base = build_vrm(version=version)
        return build_vrm(version=version, pad_bytes=max(0, target - len(base) + 8))
    if kind == "too_many_triangles":
        count = size if size is not None else 32_001
        # One extra mesh on the hips: a fan of ``count`` triangles over count + 2 vertices.
        w_extra = _extra_mesh_triangles(count)
        return _with_extra_mesh(version, *w_extra)
    if kind == "too_many_morphs":
        count = size if size is not None else 65
        doc, binary = unpack_glb(build_vrm(version=version))
        face = doc["meshes"][-1]
        prim = face["primitives"][0]
        # Every extra target reuses the first target's accessor: legal glTF, tiny file.
        first = prim["targets"][0]
        prim["targets"] = prim["targets"] + [dict(first)] * (count - len(prim["targets"]))
        face["weights"] = [0.0] * count
        face["extras"]["targetNames"] = [f"t{i}" for i in range(count)]
        return pack_glb(doc, binary)
    if kind == "too_many_textures":
        count = size if size is not None else 17
        doc, binary = unpack_glb(build_vrm(version=version))
        extra = bytearray(binary)
        for _ in range(count - len(doc["images"])):
            png = tiny_png()
            extra += b"\0" * (-len(extra) % 4)
            doc["bufferViews"].append(
                {"buffer": 0, "byteOffset": len(extra), "byteLength": len(png)}
            )
            extra += png
            doc["images"].append(
                {"bufferView": len(doc["bufferViews"]) - 1, "mimeType": "image/png"}
            )
        extra += b"\0" * (-len(extra) % 4)
        doc["buffers"][0]["byteLength"] = len(extra)
        return pack_glb(doc, bytes(extra))
    if kind in ("external_uri", "data_uri"):
        doc, binary = unpack_glb(build_vrm(version=version))
        uri = "https://tracker.example/pixel.png"
        if kind == "data_uri":
            uri = "data:image/png;base64," + base64.b64encode(tiny_png(1, 1)).decode("ascii")
        doc["images"].append({"uri": uri})
        return pack_glb(doc, binary)
    if kind == "broken_chunk":
        broken = bytearray(build_vrm(version=version))
        (json_len,) = struct.unpack_from("<I", broken, 12)
        # The BIN chunk claims 1 MiB more than the file holds.
        bin_at = 20 + json_len
        (bin_len,) = struct.unpack_from("<I", broken, bin_at)
        struct.pack_into("<I", broken, bin_at, bin_len + (1 << 20))
        return bytes(broken)
    if kind == "bad_magic":
        return b"glTX" + build_vrm(version=version)[4:]
    if kind == "huge_texture":
        side = size if size is not None else 16384
        return replace_image(build_vrm(version=version), png_header_only(side, side))
    if kind == "deep_nodes":
        depth = size if size is not None else 10_000
        doc, binary = unpack_glb(build_vrm(version=version))
        first = len(doc["nodes"])
        for i in range(depth):
            node: dict[str, Any] = {"name": f"n{i}"}
            if i + 1 < depth:
                node["children"] = [first + i + 1]
            doc["nodes"].append(node)
        doc["scenes"][0]["nodes"].append(first)
        return pack_glb(doc, binary)
    if kind == "node_cycle":
        doc, binary = unpack_glb(build_vrm(version=version))
        first = len(doc["nodes"])
        doc["nodes"].append({"name": "a", "children": [first + 1]})
        doc["nodes"].append({"name": "b", "children": [first]})
        return pack_glb(doc, binary)
    if kind == "unknown_extension":
        doc, binary = unpack_glb(build_vrm(version=version))
        doc["extensionsUsed"].append("EXT_hiroba_unknown")
        doc["extensionsRequired"] = ["EXT_hiroba_unknown"]
        doc["extensions"]["EXT_hiroba_unknown"] = {}
        return pack_glb(doc, binary)
    if kind == "not_vrm":
        doc, binary = unpack_glb(build_vrm(version=version))
        doc.pop("extensions")
        doc.pop("extensionsUsed")
        return pack_glb(doc, binary)
    if kind == "accessor_out_of_range":
        doc, binary = unpack_glb(build_vrm(version=version))
        doc["accessors"][-1]["count"] += 1000
        return pack_glb(doc, binary)
    if kind == "json_too_large":
        json_target = size if size is not None else 4 * 1024 * 1024 + 1
        doc, binary = unpack_glb(build_vrm(version=version))
        json_now = len(pack_glb(doc, binary)) - len(binary) - 28
        doc["asset"]["extras"] = {"padding": "x" * max(0, json_target - json_now)}
        return pack_glb(doc, binary)
    raise ValueError(f"unknown hostile kind {kind!r}; one of {', '.join(HOSTILE_KINDS)}")


def replace_image(vrm: bytes, payload: bytes, index: int = 0) -> bytes:
    """``vrm`` with image ``index``'s bytes replaced by ``payload`` (appended to the BIN
    buffer in a new buffer view; the old bytes stay, unused)."""
    doc, binary = unpack_glb(vrm)
    extra = bytearray(binary) + b"\0" * (-len(binary) % 4)
    doc["bufferViews"].append({"buffer": 0, "byteOffset": len(extra), "byteLength": len(payload)})
    extra += payload + b"\0" * (-len(payload) % 4)
    doc["images"][index]["bufferView"] = len(doc["bufferViews"]) - 1
    doc["buffers"][0]["byteLength"] = len(extra)
    return pack_glb(doc, bytes(extra))


def unpack_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON document and BIN payload of a (well-formed) GLB, e.g. one from
    :func:`build_vrm`, for tests that alter it and :func:`pack_glb` it again."""
    (json_len,) = struct.unpack_from("<I", data, 12)
    doc: dict[str, Any] = json.loads(data[20 : 20 + json_len])
    (bin_len,) = struct.unpack_from("<I", data, 20 + json_len)
    return doc, data[28 + json_len : 28 + json_len + bin_len]


def _extra_mesh_triangles(count: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    angles = np.linspace(0.0, np.pi, count + 1, dtype=np.float64)
    rim = np.stack([0.1 * np.cos(angles), 0.1 * np.sin(angles), np.zeros_like(angles)], axis=1)
    verts = np.vstack([[0.0, 0.0, 0.0], rim]).astype(np.float32)
    tris = np.stack(
        [np.zeros(count, dtype=np.int64), np.arange(1, count + 1), np.arange(2, count + 2)], axis=1
    )
    return verts, tris.reshape(-1)


def _with_extra_mesh(
    version: Literal["0", "1"], verts: npt.NDArray[np.float32], tris: npt.NDArray[np.int64]
) -> bytes:
    doc, binary = unpack_glb(build_vrm(version=version))
    w = _Writer()
    w.binary = bytearray(binary)
    w.buffer_views = doc["bufferViews"]
    w.accessors = doc["accessors"]
    position = w.vec3(verts)
    indices = w.indices(tris)
    doc["meshes"].append(
        {
            "name": "fan",
            "primitives": [
                {"attributes": {"POSITION": position}, "indices": indices, "material": 0}
            ],
        }
    )
    doc["nodes"].append({"name": "fan", "mesh": len(doc["meshes"]) - 1})
    doc["nodes"][0].setdefault("children", []).append(len(doc["nodes"]) - 1)
    w.binary += b"\0" * (-len(w.binary) % 4)
    doc["buffers"][0]["byteLength"] = len(w.binary)
    return pack_glb(doc, bytes(w.binary))
