"""VRM validation time (issue 18): how long ``avatar.vrm_check.check_vrm`` takes on an
upload of about 1 MB and one of about 20 MB, the sizes of a light and a heavy VRoid export.

The models come from ``avatar.vrm_build``: a perfect-sync humanoid with an extra mesh that
brings it to 30,272 triangles (under the 32,000 limit), and embedded PNG images (valid
headers, incompressible contents) making up the rest of the size — the validator reads
only headers, so its time is mostly the SHA-256 of the file. Prints, per model, the median
and the largest time over ``--runs`` runs, the hashing share, and the throughput. Exits
non-zero if nothing was measured.

    .venv/bin/python -m bench.vrm_check [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time

from avatar.vrm_build import hostile_vrm, pack_glb, png_header_only, unpack_glb
from avatar.vrm_check import VrmLimits, check_vrm


def model_of(size: int, images: int) -> bytes:
    """A valid VRM of about ``size`` bytes: 30k triangles plus ``images`` big PNGs."""
    base = hostile_vrm("too_many_triangles", size=30_000)
    doc, binary = unpack_glb(base)
    room = max(0, size - len(base))
    extra = bytearray(binary)
    doc["images"] = []
    for _ in range(images):
        # A 2048x2048 PNG header followed by random bytes: big like a real texture.
        png = png_header_only(2048, 2048) + os.urandom(room // images)
        extra += b"\0" * (-len(extra) % 4)
        doc["bufferViews"].append({"buffer": 0, "byteOffset": len(extra), "byteLength": len(png)})
        extra += png
        doc["images"].append({"bufferView": len(doc["bufferViews"]) - 1, "mimeType": "image/png"})
    doc["textures"] = [{"source": i, "sampler": 0} for i in range(images)]
    extra += b"\0" * (-len(extra) % 4)
    doc["buffers"][0]["byteLength"] = len(extra)
    return pack_glb(doc, bytes(extra))


def measure(data: bytes, runs: int) -> dict[str, float]:
    """Median and largest validation time, and the hash's median, in milliseconds."""
    limits = VrmLimits()
    report = check_vrm(data, limits)  # warm up, and prove the model is accepted
    times, hashes = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        check_vrm(data, limits)
        times.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        hashlib.sha256(data).digest()
        hashes.append((time.perf_counter() - t0) * 1e3)
    median = statistics.median(times)
    return {
        "mb": len(data) / 1e6,
        "triangles": report.triangles,
        "images": report.textures,
        "median_ms": median,
        "max_ms": max(times),
        "sha256_ms": statistics.median(hashes),
        "mb_per_s": len(data) / 1e6 / (median / 1e3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = {}
    for label, size, images in (("1 MB", 1_000_000, 2), ("20 MB", 20_000_000, 12)):
        results[label] = measure(model_of(size, images), max(1, args.runs))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for label, r in results.items():
            print(
                f"{label:>6}: {r['mb']:.1f} MB, {r['triangles']:,} triangles, "
                f"{r['images']:.0f} images: validation median {r['median_ms']:.2f} ms "
                f"(max {r['max_ms']:.2f}; of which SHA-256 {r['sha256_ms']:.2f} ms), "
                f"{r['mb_per_s']:.0f} MB/s"
            )
    return 0 if results and all(r["median_ms"] > 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
