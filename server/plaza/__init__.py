"""The live plaza of this process: entering, leaving and moving (the socket events every
page uses) and the room tick that sends each changed room one delta.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.meetings``,
``server.motion`` and the pure packages.
"""
