"""The staff console's HTTP API: login and sessions, the console page, exports, the audit
log, invitations and registration codes; every call asks ``moderation``'s policy first.

May import: ``server.config``, ``server.common``, ``server.storage``, ``server.http``,
``server.staff``, ``server.meetings`` and the pure packages.
"""
