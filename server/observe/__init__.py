"""What operators and tests read of a running process: ``/metrics`` (Prometheus),
``/readyz`` and ``/api/debug/leaks``. Reads each component through its public ``counts()``.

May import: every feature (it observes them): ``server.config``, ``server.common``,
``server.sockets``, ``server.storage``, ``server.rtc``, ``server.http``, ``server.staff``,
``server.meetings``, ``server.console``, ``server.motion``, ``server.audio``,
``server.tracking``, ``server.plaza``, ``server.recording``, ``server.cluster``,
``server.identity``, ``server.transcription``, ``server.captions``, ``server.avatars``,
``server.gallery``, and the pure packages; no feature imports it.
"""
