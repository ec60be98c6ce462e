"""Head rotation maths: Euler angles (three.js order 'YXZ', degrees) and 3x3 matrices.

``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)`` in the avatar's frame (x right, y up, z back);
see :mod:`avatar.pose` for what the signs mean on a person.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Turns MediaPipe's camera frame (x to the image's right, which is the person's left;
#: y up; z toward the camera) into the avatar's frame (x to the person's right; y up;
#: z toward the back of the head). It is a half turn about y, so it is its own inverse.
CAMERA_TO_AVATAR: FloatArray = np.diag([-1.0, 1.0, -1.0])


def matrix_from_euler(roll: float, pitch: float, yaw: float) -> FloatArray:
    """The rotation matrix for angles in degrees."""
    r, p, y = (math.radians(a) for a in (roll, pitch, yaw))
    cr, sr = math.cos(r), math.sin(r)
    cp, sp = math.cos(p), math.sin(p)
    cy, sy = math.cos(y), math.sin(y)
    rz = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    out: FloatArray = ry @ rx @ rz
    return out


def euler_from_matrix(m: npt.ArrayLike) -> tuple[float, float, float]:
    """``(roll, pitch, yaw)`` in degrees of a rotation matrix (3x3, or the top-left of a 4x4).

    Pitch is in [-90, 90]; roll and yaw in (-180, 180]. At pitch ±90 (gimbal lock, never
    reached by a head) roll is reported as 0 and yaw takes the whole turn.
    """
    r = np.asarray(m, dtype=np.float64)[:3, :3]
    pitch = math.asin(max(-1.0, min(1.0, -r[1, 2])))
    if abs(r[1, 2]) < 0.9999999:
        yaw = math.atan2(r[0, 2], r[2, 2])
        roll = math.atan2(r[1, 0], r[1, 1])
    else:
        yaw = math.atan2(-r[2, 0], r[0, 0])
        roll = 0.0
    return math.degrees(roll), math.degrees(pitch), math.degrees(yaw)


def orthonormalise(m: npt.ArrayLike) -> FloatArray:
    """The rotation nearest to ``m`` (removes scale and shear a tracker may leave in)."""
    u, _, vt = np.linalg.svd(np.asarray(m, dtype=np.float64)[:3, :3])
    r: FloatArray = u @ vt
    if np.linalg.det(r) < 0:  # a reflection is no head pose; flip the weakest axis back
        u[:, -1] = -u[:, -1]
        r = u @ vt
    return r


def wrap_degrees(a: float) -> float:
    """An angle in degrees brought into (-180, 180]."""
    w = math.fmod(a, 360.0)
    if w <= -180.0:
        w += 360.0
    elif w > 180.0:
        w -= 360.0
    return w
