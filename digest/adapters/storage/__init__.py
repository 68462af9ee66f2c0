"""Adapter: SQLAlchemy models, engine, sessions, Alembic upgrades. Imports digest.core only; higher layers use it."""

# Loaded with the package, so whoever reads the models' metadata sees 0015's PostgreSQL-only indexes too
# (models.py, past its length already, stays as it is).
from digest.adapters.storage import search_indexes as _search_indexes  # noqa: F401
