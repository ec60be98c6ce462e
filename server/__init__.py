"""Every I/O adapter of Hiroba: the aiohttp app, socket.io handlers, storage, CLI."""

__version__ = "0.1.0"
