"""Pure domain of Hiroba: rooms, participants, roles, positions, seats and the spatial grid.

Nothing in this package does I/O or uses asyncio; callers pass the time in.
"""
