"""Staff identities: accounts, passwords (argon2id), login sessions and their back-off,
invitations, and the staff HTTP API (login, the console page, exports, the audit log).

May import: ``server.config``, ``server.common``, ``server.storage``, ``server.http``, and
``server.meetings`` (only ``staff.api``, which serves meetings' exports).
"""
