"""Persistence: the SQLite store behind a small interface, its migrations, the demo rooms
and the conversion of ``moderation`` records to JSON and back.

May import: ``server.config``, ``server.common`` and the pure packages.
"""
