"""How the process is configured before anything runs: the settings (one frozen object;
nothing else reads ``os.environ``), the token-signing secret, log output, self-signed TLS for
LAN trials and the guard on library versions.

May import: the pure packages (``rooms``, ``moderation``, ``avatar``) only; every other part
of ``server`` may import it.
"""
