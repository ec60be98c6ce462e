"""A TCP proxy that plays the load balancer in front of cluster nodes, for the failover tests.

The nodes and their Redis are started by :mod:`bench.cluster`, which the motion benchmark
shares.
"""

from __future__ import annotations

import asyncio


class SwitchingProxy:
    """A TCP proxy on 127.0.0.1, the simplest load balancer: every new connection goes to
    the node whose port is ``backend`` now; when that node dies, its connections close
    and the clients' reconnections reach whichever node ``backend`` names next."""

    def __init__(self, backend: int) -> None:
        self.backend = backend
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> SwitchingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()
