"""Socket event names, defined once (JavaScript twin: web_client/src/net/events.js)."""

JOIN = "join"
LEAVE = "leave"
MOVE = "move"
ROOM_DELTA = "room:delta"
