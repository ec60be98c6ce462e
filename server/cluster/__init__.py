"""Cluster mode: several Hiroba nodes joined by Redis (docs/cluster.md).

``node.py`` composes one node from its parts: ``lease.py`` (who leads), ``forwarding.py``
(socket.io events between edge and leader) and ``http_forward.py`` (HTTP calls),
``motion_relay.py`` and ``audio_relay.py`` (the planes across nodes), ``room_list.py``
(the rooms, for edges without a database), over ``bus.py`` (Redis pub/sub). The control
messages between nodes are typed in ``messages.py``; ``sio_server.py`` is the socket.io
server that hands its events to the node.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.motion``,
``server.audio`` (types only) and the pure packages.
"""
