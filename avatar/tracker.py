"""Face trackers: the :class:`Tracker` seam and the MediaPipe FaceLandmarker behind it.

Tracking is blocking CPU work (about 10 ms a frame at 320x240 on one core): callers on
an event loop run :meth:`Tracker.track` in an executor or a worker, one frame at a time
per tracker (a tracker is not thread-safe), and drop frames rather than queue them.
Always :meth:`~Tracker.close` a tracker (or use it as a context manager): MediaPipe 1.2.x
prints a traceback at interpreter exit for a landmarker left open.
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from avatar.solver import FaceObservation
from avatar.telemetry import UNREACHABLE_PROXY, block_mediapipe_telemetry

log = logging.getLogger(__name__)

RgbImage = npt.NDArray[np.uint8]


class Tracker(Protocol):
    """Finds one face in RGB frames of a video, in timestamp order."""

    def track(self, rgb: RgbImage, timestamp_ms: int) -> FaceObservation | None:
        """The face in ``rgb`` (``(height, width, 3)`` uint8), or None if there is none."""
        ...

    def close(self) -> None:
        """Release the tracker; it cannot be used afterwards."""
        ...


class MediaPipeTracker:
    """MediaPipe Tasks ``FaceLandmarker`` in VIDEO mode, one face, blendshapes and the
    facial transformation matrix on.

    ``model_path`` is ``face_landmarker.task`` (see :mod:`server.tracking.model_fetch`).
    Creating one first applies :func:`avatar.telemetry.block_mediapipe_telemetry` with
    ``telemetry_proxy`` (tests point it at a listener of their own to observe it).
    """

    def __init__(self, model_path: Path, *, telemetry_proxy: str = UNREACHABLE_PROXY) -> None:
        block_mediapipe_telemetry(telemetry_proxy)
        # Imported here: mediapipe takes most of a second to import and the rest of the
        # package (codec, solver, voice) must stay cheap to import without it.
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import (
            FaceLandmarker,
            FaceLandmarkerOptions,
            RunningMode,
        )

        self._mp: Any = mp
        options = FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=RunningMode.VIDEO,
            num_faces=1,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self._landmarker: Any = FaceLandmarker.create_from_options(options)
        # A safety net only: closes a forgotten landmarker at exit, before the interpreter
        # tears down the modules MediaPipe's own finaliser needs.
        self._finalizer = weakref.finalize(self, self._landmarker.close)
        self._last_ms = -1
        log.debug("face landmarker created from %s", model_path)

    def track(self, rgb: RgbImage, timestamp_ms: int) -> FaceObservation | None:
        """See :meth:`Tracker.track`. Timestamps must not go backwards; a repeated one is
        nudged forward by 1 ms because MediaPipe refuses equal timestamps."""
        if self._landmarker is None:
            raise RuntimeError("tracker is closed")
        if timestamp_ms < self._last_ms:
            raise ValueError(f"timestamp {timestamp_ms} ms is before {self._last_ms} ms")
        timestamp_ms = max(timestamp_ms, self._last_ms + 1)
        self._last_ms = timestamp_ms
        frame = np.ascontiguousarray(rgb, dtype=np.uint8)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"an RGB frame is (height, width, 3), not {frame.shape}")
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=frame)
        result = self._landmarker.detect_for_video(image, timestamp_ms)
        if not result.face_landmarks or not result.face_blendshapes:
            return None
        if not result.facial_transformation_matrixes:
            return None
        scores = np.array([c.score for c in result.face_blendshapes[0]], dtype=np.float64)
        matrix = np.asarray(result.facial_transformation_matrixes[0], dtype=np.float64)
        landmarks = np.array(
            [(p.x, p.y, p.z) for p in result.face_landmarks[0]], dtype=np.float64
        )
        return FaceObservation(
            scores=scores,
            matrix=matrix.reshape(4, 4),
            landmarks=landmarks,
            width=frame.shape[1],
            height=frame.shape[0],
        )

    def close(self) -> None:
        """See :meth:`Tracker.close`. Safe to call twice."""
        if self._landmarker is not None:
            self._finalizer()
            self._landmarker = None

    def __enter__(self) -> MediaPipeTracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
