"""What operators and tests read of a running process: ``/metrics`` (Prometheus),
``/readyz`` and ``/api/debug/leaks``. Reads each component through its public ``counts()``.

May import: any feature (it observes them); no feature imports it.
"""
