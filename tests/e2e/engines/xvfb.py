"""One Xvfb X server for the other engines (Firefox, WebKitGTK need a display), on a free
display number chosen by Xvfb itself (``-displayfd``), ended by its PID."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator

XVFB = "/usr/bin/Xvfb"
#: Starting takes well under a second here; more means something is wrong.
START_TIMEOUT = 10.0


async def end_process(proc: asyncio.subprocess.Process, grace: float = 3.0) -> None:
    """End a process this test run started, by its PID: SIGTERM, then SIGKILL after
    ``grace`` seconds, and reap it (no zombie, no browser left on a 2-core machine)."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def available() -> bool:
    return shutil.which(XVFB) is not None


@contextlib.asynccontextmanager
async def xvfb(width: int = 1280, height: int = 1024) -> AsyncIterator[str]:
    """A running Xvfb; yields its DISPLAY (``":N"``)."""
    read, write = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            XVFB, "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
            "-nolisten", "tcp", "-noreset",
            pass_fds=(write,), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
    finally:
        os.close(write)
    try:
        loop = asyncio.get_running_loop()
        # Xvfb writes the display number and a newline once it accepts clients.
        number = await asyncio.wait_for(
            loop.run_in_executor(None, os.read, read, 16), START_TIMEOUT)
        if not number.strip():
            raise RuntimeError(f"Xvfb exited before choosing a display ({proc.returncode})")
        yield ":" + number.decode().strip()
    finally:
        os.close(read)
        await end_process(proc)
