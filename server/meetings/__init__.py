"""Meetings, the procedure of ``moderation`` run live: the socket events, the service
that holds one meeting per room, who sits where, what each audience sees, persistence of
meeting events in SQLite, the demo's meetings and the rows of exports.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.storage``,
``server.staff`` (auth and store) and the pure packages.
"""
