"""Avatar pose model, face tracking, filters, codec, voice and idle animation.

- ``pose``: the :class:`~avatar.pose.Pose` and the 52 blendshape names;
- ``codec``: its 69-byte wire record, one at a time or batched with numpy;
- ``tracker`` (MediaPipe FaceLandmarker), ``solver``, ``filters``, ``pipeline``: camera
  frames to poses; ``telemetry`` keeps MediaPipe from reporting to Google;
- ``voice`` and ``idle``: poses without a camera.
- ``vrm_check`` (the VRM upload validator), ``vrm_expressions`` (which VRM expressions the
  ARKit weights drive) and ``vrm_build`` (small VRM files and hostile ones, for tests,
  bench and the demo seed); see ``docs/avatars.md``.

Only ``tracker`` touches MediaPipe, and only when a tracker is created. An avatar's look
(colours, hair, accessory) is plain room data and lives in ``rooms.appearance``.
"""
