"""Meeting recordings on disk (issue 6): Ogg Opus per speaker, motion log, event log,
the recorder that writes them off the event loop, and their SQLite index. See
``docs/recording.md``.
"""
