"""Meeting recordings on disk (issue 6): Ogg Opus per speaker, motion log, event log,
the recorder that writes them off the event loop, and their SQLite index; the minutes
and their approval (会議録署名: versions, signers, publication of an approved version,
``approval.py``, ``approval_routes.py``); a closed session's staff-only record
(秘密会, ``staff_record.py``, ``staff_routes.py``: never indexed among the recordings,
served to staff only); each stopped recording's transcription job (``transcripts.py``,
``transcript_routes.py``: speaker tracks transcribed in a background worker, aligned to
the floor turns, the minutes' 発言 section); staff corrections of a transcript and the
archive search (``correction_routes.py``; ``archive_search.py`` keeps the search rows in
step with transcript changes and publication). See ``docs/recording.md``.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.storage``,
``server.http``, ``server.staff``, ``server.meetings``, ``server.console``,
``server.motion``, ``server.transcription`` and the pure packages.
"""
