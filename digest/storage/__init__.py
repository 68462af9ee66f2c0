"""Storage edge: SQLAlchemy models, engine and sessions, Alembic upgrades."""
