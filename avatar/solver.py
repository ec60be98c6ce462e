"""From a FaceLandmarker result to a :class:`~avatar.pose.Pose`.

The solver sees plain numpy arrays (:class:`FaceObservation`), never MediaPipe objects,
so it is tested with synthetic matrices; :mod:`avatar.tracker` does the conversion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatar.pose import N_BLENDSHAPES, N_MEDIAPIPE_BLENDSHAPES, Pose, TrackingState
from avatar.rotation import CAMERA_TO_AVATAR, euler_from_matrix, orthonormalise

FloatArray = npt.NDArray[np.float64]

#: Landmark indices of the outer eye corners in MediaPipe's 478-point face mesh: the
#: person's right eye (left in the image) and left eye.
RIGHT_EYE_OUTER = 33
LEFT_EYE_OUTER = 263


@dataclass(frozen=True, eq=False)
class FaceObservation:
    """What the tracker saw of one face in one frame.

    - ``scores``: MediaPipe's 52 blendshape scores in its order, ``_neutral`` first.
    - ``matrix``: the 4x4 facial transformation matrix (canonical face -> camera space,
      centimetres; camera looks along -z, y up, x to the image's right).
    - ``landmarks``: ``(478, 3)`` normalised image coordinates (x right, y down), or None.
    - ``width``, ``height``: the frame's size in pixels (to undo the normalisation).
    """

    scores: FloatArray
    matrix: FloatArray
    landmarks: FloatArray | None = None
    width: int = 0
    height: int = 0


def landmark_roll(landmarks: npt.ArrayLike, width: int, height: int) -> float:
    """Head roll in degrees from the eye-corner line in the image (avatar sign convention).

    The line from the right to the left outer eye corner is level on an upright face; it
    slopes down on the image's right (clockwise) when the person tilts to their left.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    dx = (pts[LEFT_EYE_OUTER, 0] - pts[RIGHT_EYE_OUTER, 0]) * width
    dy = (pts[LEFT_EYE_OUTER, 1] - pts[RIGHT_EYE_OUTER, 1]) * height
    return math.degrees(math.atan2(dy, dx))


@dataclass(frozen=True, slots=True)
class Solver:
    """Turns observations into poses.

    ``roll_from_landmarks``: take roll from the eye-corner line instead of the
    transformation matrix when the face is near-frontal (``|yaw|`` and ``|pitch|`` below
    ``frontal_limit`` degrees); the landmarks measure in-plane tilt directly and are the
    more accurate of the two there (see ``docs/performance.md``).
    """

    roll_from_landmarks: bool = True
    frontal_limit: float = 25.0

    def solve(self, obs: FaceObservation, timestamp_ms: int) -> Pose:
        """The pose of ``obs``; position is camera-relative (see :func:`head_position`)."""
        m = np.asarray(obs.matrix, dtype=np.float64)
        rotation = CAMERA_TO_AVATAR @ orthonormalise(m) @ CAMERA_TO_AVATAR
        roll, pitch, yaw = euler_from_matrix(rotation)
        if (
            self.roll_from_landmarks
            and obs.landmarks is not None
            and obs.width > 0
            and obs.height > 0
            and abs(yaw) < self.frontal_limit
            and abs(pitch) < self.frontal_limit
        ):
            roll = landmark_roll(obs.landmarks, obs.width, obs.height)
        return Pose(
            timestamp_ms=timestamp_ms,
            state=TrackingState.TRACKED,
            roll=roll,
            pitch=pitch,
            yaw=yaw,
            position=head_position(m),
            weights=weights_from_scores(obs.scores),
        )


def head_position(matrix: npt.ArrayLike) -> tuple[float, float, float]:
    """The head's position in metres in the avatar's frame, relative to the camera."""
    t = np.asarray(matrix, dtype=np.float64)[:3, 3] / 100.0  # MediaPipe works in cm
    x, y, z = (float(v) for v in CAMERA_TO_AVATAR @ t)
    return x, y, z


def weights_from_scores(scores: npt.ArrayLike) -> tuple[float, ...]:
    """Pose weights from MediaPipe's 52 scores (``_neutral`` first); tongueOut is 0."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.shape[0] != N_MEDIAPIPE_BLENDSHAPES + 1:
        raise ValueError(f"MediaPipe gives {N_MEDIAPIPE_BLENDSHAPES + 1} scores, not {len(s)}")
    out = np.zeros(N_BLENDSHAPES)
    out[:N_MEDIAPIPE_BLENDSHAPES] = np.clip(s[1:], 0.0, 1.0)
    return tuple(float(v) for v in out)


class RestPosition:
    """Tracks where a head usually is, so that poses carry offsets from rest.

    An exponential average with a long time constant: leaning in shows, sitting a little
    further from the camera for minutes does not. The first sample sets the rest.
    """

    def __init__(self, time_constant_s: float = 10.0) -> None:
        self.time_constant_s = time_constant_s
        self._rest: FloatArray | None = None
        self._t = 0.0

    def reset(self) -> None:
        """Forget the rest position."""
        self._rest = None

    def offset(self, position: tuple[float, float, float], t_s: float) -> tuple[float, ...]:
        """``position`` relative to the rest, updating the rest with it."""
        p = np.asarray(position, dtype=np.float64)
        if self._rest is None:
            self._rest, self._t = p.copy(), t_s
        else:
            dt = max(0.0, t_s - self._t)
            self._t = max(self._t, t_s)
            self._rest = self._rest + (1.0 - math.exp(-dt / self.time_constant_s)) * (
                p - self._rest
            )
        return tuple(float(v) for v in p - self._rest)
