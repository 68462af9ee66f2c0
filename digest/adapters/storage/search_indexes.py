"""Migration 0015's trigram indexes, declared so the models describe a migrated PostgreSQL database.

PostgreSQL only (`ddl_if`): SQLite has no pg_trgm, and its searches read the rows. The package imports this
module, so the indexes are on the tables whenever the models are.
"""

from __future__ import annotations

from sqlalchemy import Index, func
from sqlalchemy.orm import InstrumentedAttribute

from digest.adapters.storage import models


def _trigrams(name: str, column: InstrumentedAttribute[str]) -> Index:
    # lower(): the searches compare without case (services/text_search.py's `contains`).
    label = f"{column.key}_lower"
    index = Index(name, func.lower(column).label(label), postgresql_using="gin", postgresql_ops={label: "gin_trgm_ops"})
    return index.ddl_if(dialect="postgresql")


TRIGRAM_INDEXES = (
    _trigrams("ix_subscribers_email_trgm", models.Subscriber.email),
    _trigrams("ix_subscribers_name_trgm", models.Subscriber.name),
    _trigrams("ix_suppressions_email_trgm", models.Suppression.email),
    _trigrams("ix_suppressions_reason_trgm", models.Suppression.reason),
    _trigrams("ix_articles_title_trgm", models.Article.title),
    _trigrams("ix_articles_body_trgm", models.Article.body_html),
)
