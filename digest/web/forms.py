"""What the subscribe and preferences forms share: the region picker and checking the picks."""

from __future__ import annotations

from digest.adapters.storage import models
from digest.core.domain import NATIONAL_CODE
from digest.services.lists import FormList
from digest.services.subscribe_requests import Choices
from digest.web.i18n import LANGUAGES


class InvalidChoice(ValueError):
    """A submitted region, topic, time zone or language we never offered."""


def check_choices(web, ml: models.MailingList | FormList, regions, topics, time_zone: str, locale: str) -> Choices:
    """Codes and slugs exactly as offered; anything else was not typed by a person using our form."""
    from digest.web import TIME_ZONES

    codes: list[str] = []
    for code in regions:
        if code not in web.regions:
            raise InvalidChoice(f"region {code!r}")
        if code not in codes:
            codes.append(code)
    known_topics = [t.slug for t in ml.topics]
    wanted = set(topics)
    if wanted - set(known_topics):
        raise InvalidChoice(f"topics {sorted(wanted - set(known_topics))}")
    if time_zone not in TIME_ZONES:
        raise InvalidChoice(f"time zone {time_zone!r}")
    if locale not in LANGUAGES:
        raise InvalidChoice(f"language {locale!r}")
    # Section order, whatever order the browser sent them in.
    return Choices(codes, [s for s in known_topics if s in wanted], time_zone, locale)


def picker(web, selected: list[str] | set[str], query: str = "") -> dict:
    """The template context of the region picker: the tree, what is ticked, what to open, search hits."""
    from digest.web import TIME_ZONES

    chosen = [c for c in dict.fromkeys(selected) if c in web.regions]
    open_codes = {a for c in chosen for a in web.regions.ancestors(c)[1:]}
    query = query.strip()[:40]
    hits = [region_json(web.regions, r) for r in web.regions.search(query, 30)] if query else []
    return {
        "tree": web.region_tree,
        "national": NATIONAL_CODE,
        "selected": set(chosen),
        "chosen": [{"code": c, "label": web.regions.display(c)} for c in chosen],
        "open_codes": open_codes,
        "query": query,
        "hits": hits,
        "time_zones": TIME_ZONES,
    }


def region_json(index, region) -> dict:
    return {
        "code": region.code,
        "name": region.name,
        "label": index.display(region.code),
        "level": region.level,
        "path": " › ".join(index.get(c).name for c in reversed(index.ancestors(region.code))),
    }
