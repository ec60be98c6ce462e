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
#: The mouth on the same photo, found once with the tracker (landmarks 13/14 between the
#: lips, 78/308 the corners, 152 the chin): the line between the lips, the mouth's centre
#: and half width, and the chin, in pixels.
LIPS_Y = 146.5
MOUTH_X = 223.4
MOUTH_HALF_WIDTH = 19.7
CHIN_Y = 178.4

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Shot:
    """One frame's placement: ``roll`` degrees counter-clockwise on screen, ``scale`` of
    the photo, ``dx``/``dy`` shift of the face from the canvas centre (fractions)."""

    roll: float = 0.0
    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0
    #: How far the mouth is open, in the photo's pixels (0 closed; 25 gives MediaPipe a
    #: jawOpen of about 0.35, 31 about 0.45).
    jaw: float = 0.0


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

    if shot.jaw > 0:
        source = open_mouth(source, shot.jaw)
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


def open_mouth(source: Frame, jaw: float) -> Frame:
    """The photo with its mouth opened by ``jaw`` pixels: the chin and lower lip move down
    (smoothly fading out sideways and below the chin, so that no seam shows) and the gap
    between the lips is the dark inside of a mouth. MediaPipe reads it as ``jawOpen``."""
    import cv2

    h, w = source.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    across = np.clip(1 - (np.abs(xx - MOUTH_X) / (MOUTH_HALF_WIDTH * 2.4)) ** 4, 0, 1)
    down = np.where(yy < LIPS_Y, 0.0,
                    np.where(yy < CHIN_Y, 1.0, np.clip(1 - (yy - CHIN_Y) / 31, 0, 1)))
    shift = (jaw * across * down).astype(np.float32)
    out = cv2.remap(source, xx, yy - shift, cv2.INTER_LINEAR)
    centre = (round(MOUTH_X), round(LIPS_Y + jaw / 2))
    axes = (round(MOUTH_HALF_WIDTH * 0.85), max(1, round(jaw / 2)))
    cv2.ellipse(out, centre, axes, 0, 0, 360, (70, 25, 30), -1)
    return np.ascontiguousarray(out, dtype=np.uint8)
