"""The tracking pipeline: frame -> tracker -> solver -> filter -> pose record.

The same object serves ``hiroba track`` (frames from a file) and server-side tracking
(frames from WebRTC). It is synchronous and blocking (the tracker is): run
:meth:`TrackingPipeline.process` off the event loop, one frame at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from avatar import codec
from avatar.filters import PoseFilter
from avatar.pose import Pose, TrackingState
from avatar.solver import RestPosition, Solver
from avatar.tracker import RgbImage, Tracker


@dataclass(frozen=True, slots=True)
class TrackedFrame:
    """One frame's outcome: the pose to send, its record, and whether a face was seen."""

    pose: Pose
    record: bytes
    found: bool


class TrackingPipeline:
    """Turns RGB frames into poses. ``pose_filter`` None disables smoothing.

    When the face is lost the last pose is held and eased to rest with time constant
    ``lost_ease_s`` (state ``LOST``), and the filter starts afresh on re-acquisition so
    the avatar does not glide across from where the face was last seen.
    """

    def __init__(
        self,
        tracker: Tracker,
        solver: Solver | None = None,
        pose_filter: PoseFilter | None = None,
        rest: RestPosition | None = None,
        lost_ease_s: float = 0.5,
    ) -> None:
        self.tracker = tracker
        self.solver = solver or Solver()
        self.pose_filter = pose_filter
        self.rest = rest or RestPosition()
        self.lost_ease_s = lost_ease_s
        self._last: Pose | None = None

    def process(self, rgb: RgbImage, timestamp_ms: int) -> TrackedFrame:
        """Track one frame taken at ``timestamp_ms``."""
        obs = self.tracker.track(rgb, timestamp_ms)
        if obs is None:
            pose = self._lost(timestamp_ms)
            if self.pose_filter is not None:
                self.pose_filter.reset()
            found = False
        else:
            raw = self.solver.solve(obs, timestamp_ms)
            offset = self.rest.offset(raw.position, timestamp_ms / 1000.0)
            pose = Pose(
                timestamp_ms=raw.timestamp_ms,
                state=raw.state,
                roll=raw.roll,
                pitch=raw.pitch,
                yaw=raw.yaw,
                position=(offset[0], offset[1], offset[2]),
                weights=raw.weights,
            )
            if self.pose_filter is not None:
                pose = self.pose_filter(pose)
            found = True
        self._last = pose
        return TrackedFrame(pose=pose, record=codec.encode(pose), found=found)

    def _lost(self, timestamp_ms: int) -> Pose:
        last = self._last
        if last is None:
            return Pose(timestamp_ms=timestamp_ms, state=TrackingState.LOST)
        dt = max(0.0, (timestamp_ms - last.timestamp_ms) / 1000.0)
        k = math.exp(-dt / self.lost_ease_s)
        return Pose(
            timestamp_ms=timestamp_ms,
            state=TrackingState.LOST,
            roll=last.roll * k,
            pitch=last.pitch * k,
            yaw=last.yaw * k,
            position=(last.position[0] * k, last.position[1] * k, last.position[2] * k),
            weights=tuple(w * k for w in last.weights),
        )

    def close(self) -> None:
        """Close the tracker."""
        self.tracker.close()
