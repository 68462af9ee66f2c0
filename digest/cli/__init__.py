"""Entry point: the `digest` console script. Imports services, adapters, the core (and the web app, for
`digest serve`); nothing imports it."""

from digest.cli.commands import main

__all__ = ["main"]
