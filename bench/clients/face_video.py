"""Test videos of a real face with known motion, made on the fly from a photograph that
scikit-image ships (``skimage.data.astronaut()``, public domain, NASA). Nothing is stored.

Each frame places the photo on a grey canvas by a similarity transform about the face
centre: a rotation (known roll), a scale and a shift. The benchmarks reuse it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

#: The middle of the face mesh on the 512x512 photo, (x, y) pixels, found once with the
#: tracker; rotations turn about it so the face stays in place.
FACE_CENTRE = (224.0, 123.0)

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Shot:
    """One frame's placement: ``roll`` degrees counter-clockwise on screen, ``scale`` of
    the photo, ``dx``/``dy`` shift of the face from the canvas centre (fractions)."""

    roll: float = 0.0
    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0


def photo() -> Frame:
    """The astronaut photograph, RGB uint8."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def accuracy_shots() -> list[Shot]:
    """Roll sweep 0 -> +20 -> -20 -> 0 (1° a frame), then shifts, then zooms."""
    rolls = [*range(0, 21), *range(19, -21, -1), *range(-19, 1)]
    shots = [Shot(roll=float(r)) for r in rolls]
    for i in range(30):
        a = 2 * math.pi * i / 30
        shots.append(Shot(dx=0.15 * math.sin(a), dy=0.10 * math.sin(2 * a)))
    for i in range(30):
        shots.append(Shot(scale=1.0 + 0.3 * math.sin(2 * math.pi * i / 30)))
    return shots


def render(source: Frame, shot: Shot, size: tuple[int, int] = (640, 480),
           base_scale: float = 1.6) -> Frame:  # fmt: skip
    """One frame of ``size`` (width, height) showing ``source`` placed by ``shot``."""
    import cv2  # OpenCV comes with mediapipe; it warps ten times faster than scikit-image

    w, h = size
    s = base_scale * shot.scale * w / 640
    a = math.radians(shot.roll)
    # Counter-clockwise on screen in y-down pixel coordinates.
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]]) * s
    centre_out = np.array([w / 2 + shot.dx * w, h / 2 + shot.dy * h])
    shift = centre_out - rot @ np.array(FACE_CENTRE)
    matrix = np.hstack([rot, shift[:, None]])
    out = cv2.warpAffine(
        source, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
        borderValue=(128, 128, 128),
    )  # fmt: skip
    return np.ascontiguousarray(out, dtype=np.uint8)


def write_video(path: Path, frames: Iterable[Frame], fps: int = 15) -> Path:
    """Encode frames to ``path``: ``.y4m`` raw YUV 4:2:0, ``.mp4`` H.264, ``.webm`` VP8."""
    kind = path.suffix.lower()
    options = {
        ".y4m": ("yuv4mpegpipe", "rawvideo", {}),
        ".mp4": ("mp4", "libx264", {"crf": "18", "preset": "veryfast"}),
        ".webm": ("webm", "libvpx", {"deadline": "realtime", "cpu-used": "8", "b": "2M"}),
    }
    fmt, codec, codec_options = options[kind]
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=Fraction(fps, 1))
        stream.pix_fmt = "yuv420p"
        stream.options = dict(codec_options)
        first = True
        for rgb in frames:
            if first:
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                first = False
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
