"""The loop-block watch of the tests flags the server's slow callbacks, not the test's own."""

from __future__ import annotations

import logging

from tests.conftest import ROOT, LoopBlockWatch


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("asyncio", logging.WARNING, __file__, 1, message, None, None)


def test_server_tasks_are_flagged_test_tasks_are_not() -> None:
    watch = LoopBlockWatch()
    server = (f"Executing <Task pending name='Task-1' coro=<MotionPlane.tick() running at "
              f"{ROOT}/server/motion/plane.py:300> wait_for=<Future pending>> took 0.300 seconds")
    client = (f"Executing <Task pending name='Task-2' coro=<Client.call() running at "
              f"{ROOT}/tests/conftest.py:111> wait_for=<Future pending>> took 0.255 seconds")
    reader = ("Executing <Task pending name='Task-4' coro=<AsyncClient._read_loop_websocket() "
              "running at /x/.venv/lib/python3.11/site-packages/engineio/async_client.py:601> "
              "took 0.295 seconds")
    setup = ("Executing <Task pending name='Task-5' coro=<_wrap_asyncgen_fixture.<locals>."
             "setup() running at /x/site-packages/pytest_asyncio/plugin.py:410> took 0.312 s")
    own = "Executing <Task pending name='Task-3' coro=<test_flood() running at x.py:1> took 0.4"
    handle = "Executing <Handle <TaskStepMethWrapper>> took 0.260 seconds"
    for message in (server, client, reader, setup, own, handle):
        watch.emit(record(message))
    assert watch.slow == [server, handle]
