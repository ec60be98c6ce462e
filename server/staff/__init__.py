"""Staff identities: accounts, passwords (argon2id), login sessions and their back-off, and
invitations. Their HTTP API (login, the console page, exports, the audit log) is
``server.console``.

May import: ``server.config``, ``server.common``, ``server.storage`` and the pure packages.
"""
