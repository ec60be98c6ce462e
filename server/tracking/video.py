"""Video frames for face tracking: decode files (mp4, webm, y4m) and convert frames.

This is the I/O adapter in front of :mod:`avatar.pipeline` (``avatar/`` imports only numpy
and mediapipe, so PyAV lives here). The same :func:`frame_to_rgb` serves frames that
arrive over WebRTC, which aiortc hands out as ``av.VideoFrame``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from rooms.errors import HirobaError, Reason

#: Tracking runs at this size. MediaPipe's landmark model sees a 256 px crop of the face
#: anyway, so larger frames cost more to convert and copy without tracking better (see
#: docs/performance.md); faces smaller than ~50 px across at this size are missed.
TRACKING_SIZE = (320, 240)


@dataclass(frozen=True, eq=False)
class RgbFrame:
    """A decoded frame: RGB pixels ``(height, width, 3)`` uint8 and its time in ms."""

    timestamp_ms: int
    rgb: npt.NDArray[np.uint8]


def fit_within(width: int, height: int, box: tuple[int, int] | None) -> tuple[int, int]:
    """The size that fits ``width x height`` inside ``box`` keeping its shape; never larger.

    Dimensions are kept even, which the YUV 4:2:0 frames cameras send need.
    """
    if box is None or (width <= box[0] and height <= box[1]):
        return width, height
    scale = min(box[0] / width, box[1] / height)
    w = max(2, round(width * scale / 2) * 2)
    h = max(2, round(height * scale / 2) * 2)
    return w, h


def frame_to_rgb(
    frame: av.VideoFrame, max_size: tuple[int, int] | None = TRACKING_SIZE
) -> npt.NDArray[np.uint8]:
    """The frame as RGB pixels, downscaled to fit ``max_size`` (None: full size)."""
    w, h = fit_within(frame.width, frame.height, max_size)
    rgb = frame.to_ndarray(format="rgb24", width=w, height=h)
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def _timestamp_ms(frame: av.VideoFrame, index: int, rate: Fraction | None) -> int:
    if frame.pts is not None and frame.time_base is not None:
        return round(float(frame.pts * frame.time_base) * 1000)
    fps = float(rate) if rate else 30.0
    return round(index * 1000 / fps)


def read_frames(
    path: Path, max_size: tuple[int, int] | None = TRACKING_SIZE
) -> Iterator[RgbFrame]:
    """Decode the first video stream of ``path`` frame by frame.

    Raises ``HirobaError(BAD_FIELD)`` for a missing file or one without a video stream.
    Timestamps are made strictly increasing (a file with broken pts still plays).
    """
    try:
        container = av.open(str(path))
    except (OSError, av.FFmpegError) as exc:
        raise HirobaError(Reason.BAD_FIELD, f"cannot open video {path}: {exc}") from exc
    with container:
        if not container.streams.video:
            raise HirobaError(Reason.BAD_FIELD, f"{path} holds no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        last = -1
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = max(_timestamp_ms(frame, index, stream.average_rate), last + 1)
                last = t
                yield RgbFrame(timestamp_ms=t, rgb=frame_to_rgb(frame, max_size))
        except av.FFmpegError as exc:
            raise HirobaError(Reason.BAD_FIELD, f"cannot decode {path}: {exc}") from exc
