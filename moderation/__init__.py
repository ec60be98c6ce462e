"""Pure meeting procedure and governance: who may do what, and how a meeting runs.

Every entry point (socket event, HTTP call, console action) asks this package; nothing
here does I/O, reads a clock or runs an event loop. Operations check the permission
policy, change in-memory state and return domain events for the server to persist and
broadcast. Start at :class:`moderation.meeting.Meeting`.

- ``policy``: the permission table (actions × roles) and ``decide`` / ``require``
- ``meeting`` (with ``roster``, ``forum``): one room's meeting behind the policy
- ``floor``, ``agenda``, ``lobby``, ``sanctions``: procedure
- ``chat``, ``wordfilter``, ``opinions``, ``questions``, ``polls``, ``captions``: tools
- ``audit``, ``export``: the audit log and CSV/JSON exports
- ``accounts``, ``sessions``, ``invitations``, ``tokens``, ``credentials``: identity
- ``limits``, ``rate_limit``, ``events``: shared pieces
"""
