"""The VRM validator: valid 0.x and 1.0 models accepted with the right report; every rule
refuses with its ``limit`` and a message naming the figure and the limit; damaged files
(truncated anywhere, bytes flipped) are refused, never crash it."""

from __future__ import annotations

import contextlib
import json
import random
import struct
from collections.abc import Callable
from dataclasses import replace

import pytest

from avatar.vrm_build import (
    build_vrm,
    hostile_vrm,
    pack_glb,
    replace_image,
    tiny_png,
    unpack_glb,
)
from avatar.vrm_check import AvatarRejected, VrmLimits, check_vrm
from rooms.errors import HirobaError, Reason

LIMITS = VrmLimits()


def _refused(data: bytes, limits: VrmLimits = LIMITS) -> AvatarRejected:
    with pytest.raises(AvatarRejected) as info:
        check_vrm(data, limits)
    return info.value


def _edited(edit: Callable[[dict], None], version: str = "1", **kw: object) -> bytes:
    doc, binary = unpack_glb(build_vrm(version=version, **kw))
    edit(doc)
    return pack_glb(doc, binary)


# --- valid models -------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "label"), [("0", "0.x"), ("1", "1.0")])
@pytest.mark.parametrize("perfect_sync", [False, True])
def test_valid_models_are_accepted_with_their_report(
    version: str, label: str, perfect_sync: bool
) -> None:
    data = build_vrm(version=version, perfect_sync=perfect_sync, title="山田 花子", author="市役所")
    report = check_vrm(data, LIMITS)
    assert report.version == label
    assert report.bytes == len(data) and len(report.sha256) == 64
    assert report.title == "山田 花子" and report.authors == ("市役所",)
    assert report.permission == "everyone" and report.commercial is False
    assert report.licence == ("https://vrm.dev/licenses/1.0/" if version == "1" else "CC_BY_NC_ND")
    assert report.triangles == 272 and report.nodes == 42
    assert report.textures == 1 and report.max_texture_px == 4
    assert report.morph_targets == (52 if perfect_sync else 13)
    assert report.perfect_sync == (52 if perfect_sync else 0)
    assert {"aa", "blink", "blinkLeft", "happy", "relaxed", "surprised"} <= set(report.expressions)
    assert list(report.expressions) == sorted(report.expressions)
    if perfect_sync:
        assert "JawOpen" in report.expressions
    # Colours by triangle count: trousers+hair, then the jacket, then skin.
    assert report.colors == ("#2f2f38", "#3b5b92", "#f2d0b8")
    as_json = report.to_json()
    assert json.loads(json.dumps(as_json)) == as_json
    assert as_json["authors"] == ["市役所"]


@pytest.mark.parametrize("version", ["0", "1"])
@pytest.mark.parametrize("permission", ["only_author", "licensed_person", "everyone"])
def test_permission_and_commercial_are_normalised(version: str, permission: str) -> None:
    data = build_vrm(version=version, permission=permission, commercial=True)
    report = check_vrm(data, LIMITS)
    assert report.permission == permission
    assert report.commercial is True


def test_missing_or_odd_permission_counts_as_only_author() -> None:
    def drop(doc: dict) -> None:
        del doc["extensions"]["VRMC_vrm"]["meta"]["avatarPermission"]

    assert check_vrm(_edited(drop), LIMITS).permission == "only_author"

    def odd(doc: dict) -> None:
        doc["extensions"]["VRM"]["meta"]["allowedUserName"] = ["Everyone"]

    assert check_vrm(_edited(odd, version="0"), LIMITS).permission == "only_author"


def test_meta_text_is_cleaned_and_cut() -> None:
    data = build_vrm(title="a\u202eb\x00c" + "x" * 500)
    assert check_vrm(data, LIMITS).title == "abc" + "x" * 197


@pytest.mark.parametrize(
    ("payload", "side"),
    [
        # A JPEG: SOI, an APP0 segment, then a baseline frame header 300 high, 500 wide.
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
         b"\xff\xc0\x00\x11\x08\x01\x2c\x01\xf4\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 500),
        # WebP lossy ("VP8 "), lossless ("VP8L") and extended ("VP8X") headers.
        (b"RIFF\x00\x00\x00\x00WEBPVP8 \x00\x00\x00\x00\x00\x00\x00\x9d\x01\x2a"
         + struct.pack("<HH", 640, 480) + b"\x00" * 8, 640),
        (b"RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f"
         + ((99) | (199 << 14)).to_bytes(4, "little") + b"\x00" * 8, 200),
        (b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00"
         + (1023).to_bytes(3, "little") + (511).to_bytes(3, "little"), 1024),
        (tiny_png(33, 7), 33),
    ],
)  # fmt: skip
def test_image_sizes_are_read_from_headers(payload: bytes, side: int) -> None:
    data = replace_image(build_vrm(), payload)
    assert check_vrm(data, LIMITS).max_texture_px == side
    refused = _refused(data, replace(LIMITS, max_texture_px=side - 1))
    assert refused.limit == "texture_size"


# --- each rule ----------------------------------------------------------------------------


def _case(name: str) -> tuple[bytes, VrmLimits]:
    small = VrmLimits(max_bytes=200_000, max_json_bytes=100_000)
    cases: dict[str, tuple[bytes, VrmLimits]] = {
        "size": (hostile_vrm("oversized", size=200_001), small),
        "json": (hostile_vrm("json_too_large", size=100_001), replace(small, max_bytes=10**6)),
        "triangles": (hostile_vrm("too_many_triangles"), LIMITS),
        "morph_targets": (hostile_vrm("too_many_morphs"), LIMITS),
        "textures": (hostile_vrm("too_many_textures"), LIMITS),
        "texture_size": (hostile_vrm("huge_texture"), LIMITS),
        "nodes": (build_vrm(), replace(LIMITS, max_nodes=41)),
        "node_depth": (hostile_vrm("deep_nodes", size=200), LIMITS),
        "extensions": (hostile_vrm("unknown_extension"), LIMITS),
        "external_uri": (hostile_vrm("external_uri"), LIMITS),
        "not_vrm": (hostile_vrm("not_vrm"), LIMITS),
        "accessors": (hostile_vrm("accessor_out_of_range"), LIMITS),
        "glb": (hostile_vrm("broken_chunk"), LIMITS),
    }
    return cases[name]


@pytest.mark.parametrize(
    ("limit", "words"),
    [
        ("size", ("200,", "bytes", "the limit is 200,000")),
        ("json", ("bytes of JSON", "the limit is 100,000")),
        ("triangles", ("32,273 triangles", "the limit is 32,000")),
        ("morph_targets", ("65 morph targets", "the limit is 64")),
        ("textures", ("17 images", "the limit is 16")),
        ("texture_size", ("16,384x16,384", "the limit is 2,048")),
        ("nodes", ("42 nodes", "the limit is 41")),
        ("node_depth", ("200 levels", "the limit is 64")),
        ("extensions", ("EXT_hiroba_unknown",)),
        ("external_uri", ("https://tracker.example",)),
        ("not_vrm", ("VRM extension",)),
        ("accessors", ("reaches byte",)),
        ("glb", ("BIN chunk", "past the end")),
    ],
)
def test_each_rule_refuses_naming_itself_the_figure_and_the_limit(
    limit: str, words: tuple[str, ...]
) -> None:
    data, limits = _case(limit)
    refused = _refused(data, limits)
    assert refused.limit == limit, refused.message
    for word in words:
        assert word in refused.message
    assert isinstance(refused, HirobaError) and refused.reason is Reason.BAD_AVATAR
    assert refused.to_ack() == {
        "ok": False,
        "reason": "bad_avatar",
        "message": refused.message,
        "limit": limit,
    }
    # The same file passes when that one limit is raised (where a limit is a figure).
    raised = {
        "size": "max_bytes",
        "triangles": "max_triangles",
        "morph_targets": "max_morph_targets",
        "textures": "max_textures",
        "texture_size": "max_texture_px",
        "nodes": "max_nodes",
        "node_depth": "max_node_depth",
    }
    if limit in raised:
        check_vrm(data, replace(limits, **{raised[limit]: 10**6}))


def test_limits_at_the_figure_pass() -> None:
    data = build_vrm(perfect_sync=True)
    exact = VrmLimits(
        max_bytes=len(data), max_triangles=272, max_morph_targets=52, max_textures=1,
        max_texture_px=4, max_nodes=42, max_node_depth=8,
    )  # fmt: skip
    check_vrm(data, exact)
    assert _refused(data, replace(exact, max_morph_targets=51)).limit == "morph_targets"
    assert _refused(data, replace(exact, max_node_depth=7)).limit == "node_depth"


@pytest.mark.parametrize(
    ("data", "limit"),
    [
        (hostile_vrm("bad_magic"), "glb"),
        (hostile_vrm("data_uri"), "external_uri"),
        (hostile_vrm("node_cycle"), "node_depth"),
        (hostile_vrm("deep_nodes"), "node_depth"),  # 10,000 deep: refused before counting
        (hostile_vrm("oversized", version="0", size=25 * 1024 * 1024 + 1), "size"),
        (hostile_vrm("too_many_morphs", version="0"), "morph_targets"),
        (hostile_vrm("not_vrm", version="0"), "not_vrm"),
        (b"", "glb"),
        (b"glTF" + struct.pack("<II", 1, 20) + b"\0" * 8, "glb"),  # glTF 1.0 binary
        (build_vrm() + b"\0\0\0\0", "glb"),  # length in the header is wrong
        (build_vrm()[:8] + struct.pack("<I", len(build_vrm()) - 4) + build_vrm()[12:], "glb"),
        (build_vrm()[:4] + struct.pack("<I", 1) + build_vrm()[8:], "glb"),  # version 1
    ],
)
def test_other_hostile_files(data: bytes, limit: str) -> None:
    assert _refused(data).limit == limit


def _drop_bone(doc: dict) -> None:
    del doc["extensions"]["VRMC_vrm"]["humanoid"]["humanBones"]["head"]


def _drop_bone_v0(doc: dict) -> None:
    bones = doc["extensions"]["VRM"]["humanoid"]["humanBones"]
    doc["extensions"]["VRM"]["humanoid"]["humanBones"] = [
        b for b in bones if b["bone"] != "leftFoot"
    ]


def _bone_past_nodes(doc: dict) -> None:
    doc["extensions"]["VRMC_vrm"]["humanoid"]["humanBones"]["hips"] = {"node": 9999}


def _extension_on_a_node(doc: dict) -> None:
    # Not declared in extensionsUsed: still refused.
    doc["nodes"][3]["extensions"] = {"EXT_lights_image_based": {}}


def _required_unknown(doc: dict) -> None:
    doc["extensionsRequired"] = ["KHR_draco_mesh_compression"]


def _buffer_uri(doc: dict) -> None:
    doc["buffers"].append({"uri": "https://cdn.example/b.bin", "byteLength": 4})


def _zero_accessor(doc: dict) -> None:
    # No buffer view: the loader would allocate count zeroed elements (here 12 GB).
    doc["accessors"].append({"componentType": 5126, "count": 10**9, "type": "VEC3"})


def _view_past_buffer(doc: dict) -> None:
    doc["bufferViews"][0]["byteLength"] = 10**7


def _index_is_bool(doc: dict) -> None:
    doc["nodes"][0]["children"] = [True]


def _two_parents(doc: dict) -> None:
    # The spine also claims the hips' left upper leg: a DAG, not a tree.
    doc["nodes"][1]["children"].append(doc["nodes"][0]["children"][1])


def _sparse_past_view(doc: dict) -> None:
    doc["accessors"][0]["sparse"] = {
        "count": 2,
        "indices": {"bufferView": 0, "byteOffset": 10**6, "componentType": 5123},
        "values": {"bufferView": 0},
    }


def _sparse_values_past_view(doc: dict) -> None:
    # 8 VEC3 float values need 96 bytes; buffer view 2 (a box's indices) has 72.
    doc["accessors"][0]["sparse"] = {
        "count": 8,
        "indices": {"bufferView": 2, "componentType": 5121},
        "values": {"bufferView": 2},
    }


def _bad_stride(doc: dict) -> None:
    doc["bufferViews"][1]["byteStride"] = 6


def _other_licence_url(doc: dict) -> None:
    # three-vrm 3.5 refuses to load it: the page would fall back to the procedural avatar
    doc["extensions"]["VRMC_vrm"]["meta"]["licenseUrl"] = "https://example.org/my-licence"


def _unknown_spec_version(doc: dict) -> None:
    doc["extensions"]["VRMC_vrm"]["specVersion"] = "2.0"


@pytest.mark.parametrize(
    ("edit", "version", "limit"),
    [
        (_other_licence_url, "1", "not_vrm"),
        (_unknown_spec_version, "1", "not_vrm"),
        (_drop_bone, "1", "humanoid"),
        (_drop_bone_v0, "0", "humanoid"),
        (_bone_past_nodes, "1", "humanoid"),
        (_extension_on_a_node, "1", "extensions"),
        (_required_unknown, "1", "extensions"),
        (_buffer_uri, "1", "external_uri"),
        (_zero_accessor, "1", "accessors"),
        (_view_past_buffer, "1", "accessors"),
        (_index_is_bool, "1", "json"),
        (_two_parents, "1", "node_depth"),
        (_sparse_past_view, "1", "accessors"),
        (_sparse_values_past_view, "1", "accessors"),
        (_bad_stride, "1", "accessors"),
    ],
)
def test_edited_models(edit: Callable[[dict], None], version: str, limit: str) -> None:
    refused = _refused(_edited(edit, version=version))
    assert refused.limit == limit, refused.message


def test_a_chunk_after_bin_is_refused() -> None:
    data = build_vrm() + struct.pack("<II", 4, 0x12345678) + b"\0" * 4
    data = data[:8] + struct.pack("<I", len(data)) + data[12:]
    assert _refused(data).limit == "glb"


def test_unreadable_image_is_refused() -> None:
    data = replace_image(build_vrm(), b"GIF89a" + b"\0" * 20)
    assert _refused(data).limit == "texture_size"


def test_triangles_count_every_instance_of_a_mesh() -> None:
    def instance_more(doc: dict) -> None:
        face = len(doc["meshes"]) - 1
        doc["nodes"].extend({"mesh": face} for _ in range(10))

    report = check_vrm(_edited(instance_more), LIMITS)
    assert report.triangles == 272 + 10 * 32


# --- damaged files ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0", "1"])
def test_truncated_or_flipped_files_only_ever_refuse(version: str) -> None:
    data = build_vrm(version=version, perfect_sync=True)
    for cut in [*range(0, 64), *range(64, len(data), 97)]:
        with pytest.raises(AvatarRejected):
            check_vrm(data[:cut], LIMITS)
    rnd = random.Random(18)
    for _ in range(400):
        damaged = bytearray(data)
        for _ in range(rnd.randint(1, 6)):
            damaged[rnd.randrange(len(damaged))] = rnd.randrange(256)
        with contextlib.suppress(AvatarRejected):
            check_vrm(bytes(damaged), LIMITS)


def test_wrong_json_types_only_ever_refuse() -> None:
    doc, binary = unpack_glb(build_vrm(look_at="expression"))
    paths: list[tuple[object, ...]] = []

    def walk(node: object, path: tuple[object, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*path, i))

    walk(doc, ())
    weird: list[object] = [None, True, -1, 1e308, "x", [], {}, [[]], 2**70, {"a": 1}]
    rnd = random.Random(7)
    text = json.dumps(doc)
    for _ in range(300):
        copy = json.loads(text)
        path = rnd.choice(paths[1:])
        target = copy
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = rnd.choice(weird)
        with contextlib.suppress(AvatarRejected):
            check_vrm(pack_glb(copy, binary), LIMITS)


def test_deeply_nested_json_is_refused_not_a_crash() -> None:
    body = b'{"asset":{"version":"2.0"},"extras":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    body += b" " * (-len(body) % 4)
    data = (
        struct.pack("<4sII", b"glTF", 2, 20 + len(body))
        + struct.pack("<II", len(body), 0x4E4F534A)
        + body
    )
    assert _refused(data).limit == "json"
