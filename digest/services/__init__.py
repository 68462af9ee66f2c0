"""Use cases: each wires the core to the adapters for one thing a user does. May import digest.core and
digest.adapters; only the entry points (digest.cli, digest.web, digest.worker) import it."""


class NotFound(Exception):
    """A list, subscriber or issue named by the user does not exist."""
