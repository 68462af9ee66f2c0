"""Entry point: the `digest` console script. May import services, adapters and the core; nothing imports it."""

from digest.cli.commands import main

__all__ = ["main"]
