"""VRM avatars (issue 18): the uploaded files and their rows (``store.py``), the staff
console's HTTP API to upload, list, preview, approve and withdraw them, and the public,
immutable ``GET /avatars/<sha256>.vrm`` of approved ones (``routes.py``). Every upload is
checked by ``avatar.vrm_check`` (off the event loop, at most two at once) before it is
stored or anyone's browser parses it; who may do what and whom a file may be bound to is
``moderation.avatar_rules``. The meetings learn which model a joining member or staff
account wears through a callable handed to them by ``server/app.py``.

May import: ``server.config``, ``server.common``, ``server.storage``, ``server.http``,
``server.staff``, ``server.meetings``, ``server.console`` and the pure packages.
"""
