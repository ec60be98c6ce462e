"""The socket.io edge: the event names (defined once; ``web_client/src/net/events.js`` is
their twin), the packet guard, the parsing of incoming messages, the hub of live rooms and
sessions, and the one way a feature registers its events behind the guard.

May import: ``server.config``, ``server.common`` and the pure packages.
"""
