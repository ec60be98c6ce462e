"""The pose: what one face-tracking sample says about a head and a face.

Every tracking mode (browser, server, voice, idle) produces the same :class:`Pose`; the
wire form is in :mod:`avatar.codec`.

Conventions (also in ``docs/protocol.md``, section "Motion plane: the pose record"):

- The head frame is the avatar's own, three.js style: ``x`` to the avatar's right, ``y``
  up, ``z`` toward the back of its head (the face looks along ``-z``), right-handed.
- Rotation is stored as three angles in degrees, applied as three.js Euler order
  ``'YXZ'``: ``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)``. Seen from the person:
  positive ``pitch`` raises the chin (looks up), positive ``yaw`` turns the face to the
  person's left, positive ``roll`` tilts the head toward the left shoulder. Angles were
  chosen over a quaternion because they quantise to 3 x int16 with a known error bound,
  clamp meaningfully and read directly in logs and tests.
- ``position`` is the head's offset in metres from its resting place, in the same frame.
- ``weights`` are the 52 ARKit blendshape weights in ``BLENDSHAPE_NAMES`` order, 0..1.
- ``timestamp_ms`` is the sender's media clock in milliseconds; only differences
  between poses of one sender mean anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

#: The ARKit blendshape names that MediaPipe's FaceLandmarker estimates, in its output
#: order (MediaPipe's category ``i + 1``; its category 0 is ``_neutral``, not a shape),
#: followed by ``tongueOut``, the one ARKit shape MediaPipe does not estimate.
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward",
    "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)  # fmt: skip
N_BLENDSHAPES = len(BLENDSHAPE_NAMES)
BLENDSHAPE_INDEX: Mapping[str, int] = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}
#: How many of ``BLENDSHAPE_NAMES`` MediaPipe estimates (all but ``tongueOut``).
N_MEDIAPIPE_BLENDSHAPES = 51

assert N_BLENDSHAPES == 52


class TrackingState(IntEnum):
    """Where a pose came from. The value is what the codec puts on the wire."""

    #: A camera saw the face (browser or server tracking).
    TRACKED = 0
    #: A camera is on but no face is seen; the pose holds the last one, easing to rest.
    LOST = 1
    #: No camera: the mouth follows the microphone level.
    VOICE = 2
    #: Neither: blinking and breathing only.
    IDLE = 3


ZERO_WEIGHTS: tuple[float, ...] = (0.0,) * N_BLENDSHAPES


@dataclass(frozen=True, slots=True)
class Pose:
    """One sample of a head and a face (see the module docstring for conventions)."""

    timestamp_ms: int
    state: TrackingState = TrackingState.IDLE
    roll: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    weights: tuple[float, ...] = field(default=ZERO_WEIGHTS)

    def __post_init__(self) -> None:
        if len(self.weights) != N_BLENDSHAPES:
            raise ValueError(f"a pose has {N_BLENDSHAPES} weights, not {len(self.weights)}")
        if len(self.position) != 3:
            raise ValueError("a position has 3 coordinates")
        if not all(math.isfinite(v) for v in (self.roll, self.pitch, self.yaw, *self.position)):
            raise ValueError("pose angles and position must be finite")

    def weight(self, name: str) -> float:
        """The weight of one blendshape, by its ARKit name."""
        return self.weights[BLENDSHAPE_INDEX[name]]

    def weights_by_name(self) -> dict[str, float]:
        """All weights keyed by ARKit name, in ``BLENDSHAPE_NAMES`` order."""
        return dict(zip(BLENDSHAPE_NAMES, self.weights, strict=True))


def weights_from_mapping(values: Mapping[str, float]) -> tuple[float, ...]:
    """A weights tuple from a name -> weight mapping; unnamed shapes are 0, values clamped."""
    unknown = set(values) - BLENDSHAPE_INDEX.keys()
    if unknown:
        raise ValueError(f"unknown blendshape names: {sorted(unknown)}")
    out = [0.0] * N_BLENDSHAPES
    for name, value in values.items():
        out[BLENDSHAPE_INDEX[name]] = min(1.0, max(0.0, float(value)))
    return tuple(out)
