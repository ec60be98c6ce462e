"""Live automatic captions (issue 17, in the meeting): the floor holder's and the chair's
forwarded Opus packets, in rooms whose ``auto_captions`` setting is on, go still encoded
to one niced worker process (``server/transcription/live.py``); its text comes back as
automatic caption lines through the meeting's own caption path (stored, broadcast,
logged in the recording). See ``service.py``.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.meetings``,
``server.transcription`` and the pure packages.
"""
