"""Adapter: SQLAlchemy models, engine and sessions, Alembic upgrades. May import digest.core only."""
