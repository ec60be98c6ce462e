"""The ``hiroba`` command line, one module per command group (serve, config, rooms, staff,
models and track, minutes, bench).

May import: anything in ``server``; nothing imports it.
"""
