"""`digest admin …`: the people who may sign in to the admin console and use the API."""

from __future__ import annotations

import sys

import click

from digest.cli.context import current_runtime
from digest.services.accounts import tokens_of
from digest.services.admins import (
    ROLES,
    TOKEN_DAYS,
    TOKEN_SCOPES,
    InvalidAdmin,
    all_admins,
    create_admin,
    create_api_token,
    get_admin,
    revoke_api_token,
    set_disabled,
    set_password,
)

password_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin instead of prompting."
)


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        # Scripts pipe it in: one line, the newline is not part of it.
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def admin() -> None:
    """Admin accounts for the console (`digest serve`, /admin/) and tokens for the JSON API."""


@admin.command("create")
@click.argument("email")
@click.option(
    "--role", type=click.Choice(ROLES), default="admin", show_default=True, help="editor: articles and issues only."
)
@password_stdin_option
def admin_create(email: str, role: str, password_stdin: bool) -> None:
    """Create an admin who signs in with EMAIL and a password (argon2-hashed)."""
    password = _read_password(password_stdin)
    try:
        with current_runtime().transaction() as session:
            user = create_admin(session, email, password, role)
            click.echo(f"created {user.role} {user.email}")
    except InvalidAdmin as exc:
        raise click.ClickException(str(exc)) from None


@admin.command("password")
@click.argument("email")
@password_stdin_option
@click.option(
    "--keep-tokens",
    is_flag=True,
    help="Leave their API tokens working (by default they are revoked).",
)
def admin_password(email: str, password_stdin: bool, keep_tokens: bool) -> None:
    """Set a new password; every signed-in session of that admin ends and their API tokens are revoked."""
    password = _read_password(password_stdin)
    try:
        with current_runtime().transaction() as session:
            revoked = set_password(session, get_admin(session, email), password, keep_tokens=keep_tokens)
    except InvalidAdmin as exc:
        raise click.ClickException(str(exc)) from None
    tokens = "their API tokens were kept" if keep_tokens else f"{revoked} API token(s) revoked"
    click.echo(f"password changed for {email}; their sessions have ended; {tokens}")


def _set_disabled(email: str, disabled: bool) -> None:
    with current_runtime().transaction() as session:
        set_disabled(session, get_admin(session, email), disabled)


@admin.command("disable")
@click.argument("email")
def admin_disable(email: str) -> None:
    """Stop EMAIL signing in: their sessions end and their API tokens are refused until `enable`."""
    _set_disabled(email, True)
    click.echo(f"{email} disabled; their sessions have ended and their API tokens are refused")


@admin.command("enable")
@click.argument("email")
def admin_enable(email: str) -> None:
    """Let a disabled admin sign in again (their unexpired, unrevoked tokens work again)."""
    _set_disabled(email, False)
    click.echo(f"{email} enabled")


@admin.command("list")
def admin_list() -> None:
    """Every admin with role, state and last sign-in."""
    with current_runtime().transaction() as session:
        for user in all_admins(session):
            state = "disabled" if user.disabled else "active"
            last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
            click.echo(f"{user.email}\t{user.role}\t{state}\tlast sign-in {last}")


@admin.command("token")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. 'cms import'.")
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=0),
    default=TOKEN_DAYS,
    show_default=True,
    help="Days until the token stops working; 0 for never.",
)
@click.option(
    "--scope",
    type=click.Choice(TOKEN_SCOPES),
    default="write",
    show_default=True,
    help="read: GET calls only; write: whatever the admin's role may.",
)
def admin_token(email: str, name: str, expires_in_days: int, scope: str) -> None:
    """Make an API token acting as EMAIL; it is printed once and stored hashed."""
    try:
        with current_runtime().transaction() as session:
            user = get_admin(session, email)
            secret = create_api_token(session, user, name, days=expires_in_days or None, scope=scope)
    except InvalidAdmin as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(secret)


@admin.command("tokens")
@click.argument("email")
def admin_tokens(email: str) -> None:
    """EMAIL's API tokens: id, name, created, last used, expiry, scope (and revoked, if so)."""

    def when(moment) -> str:
        return moment.isoformat(timespec="minutes") if moment else "-"

    with current_runtime().transaction() as session:
        rows = tokens_of(session, get_admin(session, email))
        click.echo("id\tname\tcreated\tlast used\texpires\tscope\tstate")
        for row in reversed(rows):  # oldest first, as ids go
            state = {"live": "active", "revoked": f"revoked {when(row.revoked_at)}"}.get(row.state, row.state)
            expires = when(row.expires_at) if row.expires_at else "never"
            fields = (row.id, row.name, when(row.created_at), when(row.last_used_at), expires, row.scope, state)
            click.echo("\t".join(str(f) for f in fields))


@admin.command("revoke-token")
@click.argument("token_id", type=int)
def admin_revoke_token(token_id: int) -> None:
    """Revoke an API token by its id."""
    with current_runtime().transaction() as session:
        revoke_api_token(session, token_id)
    click.echo(f"token {token_id} revoked")
