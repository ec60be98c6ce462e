"""A server-side tracking pipeline for tests: needs no model file and never sees a face."""

from __future__ import annotations

from typing import Any

from avatar import codec as pose_codec
from avatar.pipeline import TrackedFrame
from avatar.pose import Pose, TrackingState


class NoFace:
    """A tracking pipeline that never sees a face (what is tested is around it)."""

    def process(self, rgb: Any, timestamp_ms: int) -> TrackedFrame:
        pose = Pose(timestamp_ms=timestamp_ms, state=TrackingState.LOST)
        return TrackedFrame(pose=pose, record=pose_codec.encode(pose), found=False)

    def close(self) -> None:
        pass
