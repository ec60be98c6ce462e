"""Pure meeting procedure and governance: who may do what, rate limits, role tokens.

Every entry point (socket event, HTTP call, console action) asks this package; nothing
here does I/O.
"""
