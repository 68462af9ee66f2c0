"""Use cases that wire the pure core to storage. Each takes a Session and never commits."""


class NotFound(Exception):
    """A list, subscriber or issue named by the user does not exist."""
