"""`digest admin …`: the people who may sign in to the admin console and use the API."""

from __future__ import annotations

import sys

import click

from digest.cli.context import current_runtime
from digest.services.admins import (
    ROLES,
    InvalidAdmin,
    all_admins,
    create_admin,
    create_api_token,
    get_admin,
    revoke_api_token,
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
def admin_password(email: str, password_stdin: bool) -> None:
    """Set a new password; every signed-in session of that admin ends."""
    password = _read_password(password_stdin)
    try:
        with current_runtime().transaction() as session:
            set_password(session, get_admin(session, email), password)
    except InvalidAdmin as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password changed for {email}; their sessions have ended")


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
def admin_token(email: str, name: str) -> None:
    """Make an API token acting as EMAIL; it is printed once and stored hashed."""
    try:
        with current_runtime().transaction() as session:
            secret = create_api_token(session, get_admin(session, email), name)
    except InvalidAdmin as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(secret)


@admin.command("revoke-token")
@click.argument("token_id", type=int)
def admin_revoke_token(token_id: int) -> None:
    """Revoke an API token by its id."""
    with current_runtime().transaction() as session:
        revoke_api_token(session, token_id)
    click.echo(f"token {token_id} revoked")
