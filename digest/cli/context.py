"""What every `digest` command shares: the group that turns users' errors into one line, and the Runtime."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from digest.cli.sendout import RunStopped
from digest.core.faults import SetupError
from digest.core.ingest import IngestFormatError
from digest.core.settings import ConfigError, load_settings
from digest.services import NotFound
from digest.services.issues import IssueStateError
from digest.services.runtime import Runtime
from digest.services.subscribers import InvalidSubscriber


def current_runtime() -> Runtime:
    """The running command's Runtime, made once per invocation (a test may hand one in as `obj`)."""
    ctx = click.get_current_context().find_root()
    if ctx.obj is None:
        try:
            ctx.obj = Runtime.for_settings(load_settings())
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    return ctx.obj


class DigestGroup(click.Group):
    """Turns the errors users cause into one readable line instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SetupError as exc:  # before ValueError: a SettingError is both
            raise RunStopped(str(exc)) from None
        except (NotFound, ConfigError, InvalidSubscriber, IngestFormatError, IssueStateError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        except (OperationalError, ProgrammingError) as exc:
            hint = "is the database reachable and initialised? run `digest init`"
            raise RunStopped(f"database error ({hint}): {exc.orig}") from None
