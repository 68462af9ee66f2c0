"""Whether the service can work: the database answers and `digest init` has made its schema."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session


def database_ready(factory: Callable[[], Session]) -> bool:
    """True when a fresh session reads the migration stamp; False when the database is down or not set up."""
    try:
        with factory() as session:
            session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    except SQLAlchemyError:
        return False
    return True
