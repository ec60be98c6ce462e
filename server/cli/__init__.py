"""The ``hiroba`` command line, one module per command group (serve, config, rooms, staff,
models and track, transcribe, minutes, bench).

May import: ``server.app`` and every part below it (``server.config``, ``server.common``,
``server.sockets``, ``server.storage``, ``server.rtc``, ``server.http``, ``server.staff``,
``server.meetings``, ``server.console``, ``server.motion``, ``server.audio``,
``server.tracking``, ``server.plaza``, ``server.recording``, ``server.cluster``,
``server.identity``, ``server.transcription``, ``server.captions``, ``server.avatars``,
``server.gallery``, ``server.observe``)
and the pure packages; nothing imports it. The table of what may import what is
``server/layers.py``.
"""
