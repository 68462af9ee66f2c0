"""Alembic environment: runs migrations on the URL that digest passes in."""

from typing import cast

from alembic import context
from sqlalchemy import create_engine, pool

from digest.adapters.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = cast(str, config.get_main_option("sqlalchemy.url"))  # digest.adapters.storage.db always sets it
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; point DIGEST_DATABASE_URL at a database")
run_migrations_online()
