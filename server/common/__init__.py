"""Small building blocks every feature uses: a task run at a fixed rate, cumulative
histograms of durations, and the address checks of per-address limits and trusted networks.

May import: ``server.config`` and the pure packages; nothing of a feature.
"""
