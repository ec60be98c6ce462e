"""Staff identities: accounts, passwords (argon2id), login sessions and their back-off,
invitations, and the staff HTTP API (login, the console page, exports, the audit log).

May import: ``server.config``, ``server.common``, ``server.storage``, ``server.http`` and the
pure packages. Known exception (``server/layers.py``): ``staff.api`` imports
``server.meetings`` to serve the meetings' exports, while meetings import staff; those
routes belong in meetings.
"""
