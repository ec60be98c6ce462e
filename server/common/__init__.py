"""Small building blocks every feature uses: a task run at a fixed rate, cumulative
histograms of durations, the address checks of per-address limits and trusted networks,
and pre-built WebSocket binary frames for writing straight to a transport (``wsframe``).

May import: ``server.config`` and the pure packages; nothing of a feature.
"""
