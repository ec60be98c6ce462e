"""The VRM builder: small, well-formed GLB files with the humanoid, meta and expressions
three-vrm reads, morph targets that move the face, and every hostile kind."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from avatar.pose import BLENDSHAPE_NAMES
from avatar.vrm_build import (
    CHUNK_BIN,
    CHUNK_JSON,
    HOSTILE_KINDS,
    VRM1_LICENSE_URL,
    build_vrm,
    hostile_vrm,
    pack_glb,
    unpack_glb,
)
from avatar.vrm_check import REQUIRED_BONES
from avatar.vrm_expressions import pascal

VERSIONS = ("0", "1")


def _morph(doc: dict[str, object], binary: bytes, accessor: int) -> np.ndarray:
    acc = doc["accessors"][accessor]
    view = doc["bufferViews"][acc["bufferView"]]
    start = view["byteOffset"] + acc.get("byteOffset", 0)
    return np.frombuffer(binary, "<f4", acc["count"] * 3, start).reshape(-1, 3)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("perfect_sync", [False, True])
def test_glb_layout_is_well_formed_and_small(version: str, perfect_sync: bool) -> None:
    data = build_vrm(version=version, perfect_sync=perfect_sync)
    assert len(data) < 64 * 1024
    magic, glb_version, length = struct.unpack_from("<4sII", data)
    assert (magic, glb_version, length) == (b"glTF", 2, len(data))
    json_len, json_type = struct.unpack_from("<II", data, 12)
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert (json_type, bin_type) == (CHUNK_JSON, CHUNK_BIN)
    assert json_len % 4 == 0 and bin_len % 4 == 0
    assert 28 + json_len + bin_len == len(data)
    doc, binary = unpack_glb(data)
    for view in doc["bufferViews"]:
        assert view["byteOffset"] % 4 == 0
        assert view["byteOffset"] + view["byteLength"] <= len(binary)
    # Same arguments, same bytes: fixtures and the demo seed hash stably.
    assert build_vrm(version=version, perfect_sync=perfect_sync) == data


def test_vrm1_extension_has_meta_humanoid_expressions_and_look_at() -> None:
    doc, _ = unpack_glb(build_vrm(version="1", perfect_sync=True, permission="only_author"))
    assert doc["extensionsUsed"] == ["VRMC_vrm"]
    ext = doc["extensions"]["VRMC_vrm"]
    assert ext["specVersion"] == "1.0"
    meta = ext["meta"]
    # three-vrm refuses a 1.0 meta whose licence URL is not the VRM Public License's.
    assert meta["licenseUrl"] == VRM1_LICENSE_URL
    assert meta["avatarPermission"] == "onlyAuthor"
    assert meta["name"] == "Test member" and meta["authors"] == ["Hiroba tests"]
    bones = ext["humanoid"]["humanBones"]
    assert set(REQUIRED_BONES) <= set(bones)
    assert {"chest", "neck", "leftEye", "rightEye", "leftShoulder"} <= set(bones)
    assert len({b["node"] for b in bones.values()}) == len(bones)
    custom = ext["expressions"]["custom"]
    assert set(custom) == {pascal(n) for n in BLENDSHAPE_NAMES}
    assert {"aa", "blink", "blinkLeft", "happy", "surprised"} <= set(ext["expressions"]["preset"])
    assert ext["lookAt"]["type"] == "bone"


def test_vrm0_extension_uses_the_0x_shapes() -> None:
    doc, _ = unpack_glb(build_vrm(version="0", perfect_sync=True, permission="licensed_person"))
    ext = doc["extensions"]["VRM"]
    assert ext["meta"]["allowedUserName"] == "ExplicitlyLicensedPerson"
    assert {b["bone"] for b in ext["humanoid"]["humanBones"]} >= set(REQUIRED_BONES)
    groups = ext["blendShapeMaster"]["blendShapeGroups"]
    presets = {g["presetName"] for g in groups}
    assert {
        "a",
        "i",
        "u",
        "e",
        "o",
        "blink",
        "blink_l",
        "blink_r",
        "joy",
        "sorrow",
        "fun",
    } <= presets
    unknown = {g["name"] for g in groups if g["presetName"] == "unknown"}
    assert unknown == {pascal(n) for n in BLENDSHAPE_NAMES} | {"surprised"}
    face_mesh = len(doc["meshes"]) - 1
    assert all(
        b["mesh"] == face_mesh and 0 < b["weight"] <= 100 for g in groups for b in g["binds"]
    )
    assert ext["firstPerson"]["lookAtTypeName"] == "Bone"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("perfect_sync", [False, True])
def test_every_morph_target_moves_the_face(version: str, perfect_sync: bool) -> None:
    doc, binary = unpack_glb(build_vrm(version=version, perfect_sync=perfect_sync))
    face = doc["meshes"][-1]
    prim = face["primitives"][0]
    names = face["extras"]["targetNames"]
    assert len(names) == len(prim["targets"]) == (52 if perfect_sync else 13)
    rest = _morph(doc, binary, prim["attributes"]["POSITION"])
    for name, target in zip(names, prim["targets"], strict=True):
        delta = _morph(doc, binary, target["POSITION"])
        assert np.abs(delta).max() >= 0.01, name
    # Opening the jaw pulls the lowest vertices of the face down, most at the chin.
    jaw = names.index("JawOpen" if perfect_sync else "aa")
    delta = _morph(doc, binary, prim["targets"][jaw]["POSITION"])
    chin = rest[:, 1] == rest[:, 1].min()
    assert (delta[chin, 1] < -0.02).all()
    assert (delta[rest[:, 1] > np.median(rest[:, 1]), 1] == 0).all()


@pytest.mark.parametrize("version", VERSIONS)
def test_face_is_at_the_front_of_each_version(version: str) -> None:
    # VRM 1.0 faces +Z; VRM 0.x faces -Z (three-vrm's rotateVRM0 turns it round).
    doc, binary = unpack_glb(build_vrm(version=version))
    rest = _morph(doc, binary, doc["meshes"][-1]["primitives"][0]["attributes"]["POSITION"])
    sign = 1 if version == "1" else -1
    assert (rest[:, 2] * sign > 0.05).all()
    nodes = doc["nodes"]
    left = next(n for n in nodes if n["name"] == "leftUpperArm")
    assert left["translation"][0] * sign > 0  # the model's left is +X in 1.0


def test_options_change_what_they_say() -> None:
    plain = build_vrm(texture=False, look_at="expression", shoulders=False)
    doc, _ = unpack_glb(plain)
    assert "images" not in doc
    ext = doc["extensions"]["VRMC_vrm"]
    assert ext["lookAt"]["type"] == "expression"
    assert {"lookUp", "lookDown", "lookLeft", "lookRight"} <= set(ext["expressions"]["preset"])
    assert "leftShoulder" not in ext["humanoid"]["humanBones"]
    doc, _ = unpack_glb(build_vrm(colors=("#ff0000", "#00ff00", "#0000ff"), commercial=True))
    assert doc["materials"][0]["pbrMetallicRoughness"]["baseColorFactor"] == [1.0, 0.0, 0.0, 1.0]
    assert doc["extensions"]["VRMC_vrm"]["meta"]["commercialUsage"] == "corporation"
    padded = build_vrm(pad_bytes=100_000)
    assert len(padded) >= len(build_vrm()) + 100_000
    doc, _ = unpack_glb(build_vrm(extra_json={"asset": {"copyright": "x"}}))
    assert doc["asset"] == {
        "version": "2.0",
        "generator": "Hiroba avatar.vrm_build",
        "copyright": "x",
    }
    with pytest.raises(ValueError):
        build_vrm(eyes=False, look_at="bone")


def test_pack_and_unpack_round_trip() -> None:
    doc, binary = unpack_glb(build_vrm())
    assert pack_glb(doc, binary) == build_vrm()


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_every_hostile_kind_builds(kind: str) -> None:
    size = 200_000 if kind in ("oversized", "json_too_large") else None
    data = hostile_vrm(kind, size=size)
    assert isinstance(data, bytes) and len(data) > 100
    if kind == "oversized":
        assert len(data) > 200_000
    if kind == "json_too_large":
        assert struct.unpack_from("<I", data, 12)[0] > 200_000


def test_unknown_hostile_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown hostile kind"):
        hostile_vrm("nonsense")
