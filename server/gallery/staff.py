"""Staff's side of the gallery plane (HTTP, the console's staff sessions).

``GET /api/rooms/{room}/gallery``: the viewers now, the peak, the hands and requests to
speak. ``POST /api/rooms/{room}/gallery/{viewer}/promote``: the viewer gets a single-use
citizen invitation in its name (``promoted {token, url}``) and joins through the room's
lobby rules. ``POST /api/rooms/{room}/participants/{pid}/demote``: a participant leaves the
room for the gallery (``meeting:notice {kind: "demoted", gallery}``). Both changes need the
CSRF token and are audited under ``gallery.move`` (moderation's policy, ranked: staff are
never demoted).
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from moderation.invitations import issue_promotion
from moderation.policy import Action
from rooms.errors import ProcedureError, Reason
from server.console.routes import MEETINGS_KEY, staff
from server.gallery.plane import GalleryPlane
from server.meetings.seats import refuse_reserved_name
from server.staff.store import invitation_write

#: How long a promotion's invitation may wait to be used (seconds; the page uses it at once).
PROMOTION_TTL = 600


def add_gallery_routes(app: web.Application, plane: GalleryPlane) -> None:
    """Register the staff routes of the gallery plane."""

    def room_of(request: web.Request) -> str:
        room = request.match_info["room"]
        request.app[MEETINGS_KEY].meeting(room)  # no_such_room
        return room

    async def overview(request: web.Request) -> web.Response:
        room = room_of(request)
        await staff(request, Action.GALLERY_MOVE, room=room)  # asked, not done: no audit
        viewers, peak = plane.count(room)
        return web.json_response({"ok": True, "viewers": viewers, "peak": peak,
                                  "requests": plane.requests(room)})

    async def promote(request: web.Request) -> web.Response:
        room = room_of(request)
        viewer_id = request.match_info["viewer"][:64]
        # The session first: whether a viewer id exists is staff's to learn, nobody else's.
        await staff(request, Action.GALLERY_MOVE, room=room)
        viewer = plane.viewer(room, viewer_id)
        # In a cluster the viewer may be on another node (this is the leader: /api/ is
        # forwarded here): its name is the one its request gave.
        node = None if viewer is not None else plane.node_of(room, viewer_id)
        if viewer is None and (node is None or plane.deliver_elsewhere is None):
            raise ProcedureError(Reason.NO_SUCH_ITEM, "no such viewer in this gallery")
        asked = plane.remote_request(room, viewer_id) if viewer is None else None
        name = viewer.name if viewer is not None else str((asked or {}).get("name") or "")
        identity, entries = await staff(request, Action.GALLERY_MOVE, room=room, change=True,
                                        details={"promoted": viewer_id, "name": name})
        service = request.app[MEETINGS_KEY]
        if name:
            # The invitation fixes the name and spares it the join's check: made here, so
            # that a viewer cannot come in passing for the chair or a member present.
            refuse_reserved_name(name, service.meeting(room).people.values())
        token, invitation = issue_promotion(
            service.secret, room, name or None, service.clock(), PROMOTION_TTL,
            issued_by=identity.name)
        await service.commit(room, entries, extra_writes=[invitation_write(invitation)])
        url = "/?" + urlencode({"room": room, "token": token})
        promoted = {"t": "promoted", "token": token, "url": url}
        if viewer is not None:
            viewer.hand = viewer.ask = False
            viewer.asked_at = None
            plane.send_state(viewer, promoted)
        elif node is not None and plane.deliver_elsewhere is not None:
            # Its node writes it on the viewer's socket (over the cluster bus).
            plane.forget_request(room, viewer_id)
            plane.deliver_elsewhere(node, room, viewer_id, promoted)
        return web.json_response({"ok": True, "viewer": viewer_id,
                                  "token_id": invitation.token_id})

    async def demote(request: web.Request) -> web.Response:
        room = room_of(request)
        pid = request.match_info["pid"][:64]
        identity, _ = await staff(request, Action.GALLERY_MOVE, room=room, change=True)
        service = request.app[MEETINGS_KEY]
        meeting = service.meeting(room)
        # The meeting's own entry (naming whom) is the one kept, not the bare one above.
        happened = meeting.demote(identity.name, identity.display_name, pid, service.clock())
        await service.commit(room, happened)
        return web.json_response({"ok": True, "pid": pid})

    app.router.add_get("/api/rooms/{room}/gallery", overview)
    app.router.add_post("/api/rooms/{room}/gallery/{viewer}/promote", promote)
    app.router.add_post("/api/rooms/{room}/participants/{pid}/demote", demote)
