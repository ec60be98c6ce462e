"""Benchmarks that print figures, run from a checkout (docs/performance.md).

Each benchmark is a module run as ``python -m bench.NAME`` (``motion`` and ``audio`` also
as ``hiroba bench NAME``, through :mod:`bench.__main__`). Beside them: :mod:`.report`
(how a run prints its figures and says it measured nothing), :mod:`.server` and
:mod:`.cluster` (a Hiroba server, or Redis and cluster nodes, as child processes) and
:mod:`.clients` (the load clients, shared with the tests). The wheel does not carry this
package: it is never imported by ``server/``.
"""
