"""Adapter: SQLAlchemy models, engine, sessions, Alembic upgrades. Imports digest.core only; higher layers use it."""
