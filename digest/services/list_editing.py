"""A list's settings, schedule slot, branding and topics, changed all together or not at all.

Errors are `validation.Invalid` with a message key per field, like article edits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import time
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.bounces.settings import LoopSettingError, check_domain
from digest.core.fields import unfit_for_one_line
from digest.core.leads import ARTICLE_TEXT_MODES
from digest.core.schedule import WEEKDAYS, parse_weekday, zone
from digest.services.setup_notes import LOCAL_ONLY_DOMAINS
from digest.services.validation import FieldError, Invalid

LANGUAGES = ("zh-CN", "en")
MAX_CREDITS = 12
MAX_TOPICS = 30
MAX_RATE = 10_000.0
MAX_CATCH_UP_HOURS = 144.0
MAX_BOUNCE_THRESHOLD = 100.0
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# Column sizes of models.MailingList.
_LIMITS = {"name": 200, "sender_name": 200, "masthead": 200, "tagline": 300, "postal_address": 500}


def subscriber_counts(session: Session) -> dict[int, dict[str, int]]:
    """Per list id: how many subscriptions are pending, confirmed, unsubscribed."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(models.Subscription.list_id, models.Subscription.status, func.count()).group_by(
            models.Subscription.list_id, models.Subscription.status
        )
    )
    for list_id, status, n in rows:
        counts.setdefault(list_id, {})[status] = n
    return counts


def _email(value: str, name: str, errors: dict[str, FieldError]) -> str | None:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        errors[name] = FieldError("lists_err_email", {"field": name})
        return None


_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _sender_email(value: str, errors: dict[str, FieldError]) -> str | None:
    """A sender address; one on a local-only domain too (the default `weekly@localhost`, a `lists create` sender
    on `DIGEST_BASE_URL`'s localhost): mail leaves from it to a local server, and the dashboard warns that no
    other will take it (setup_notes.sender_is_deliverable). email_validator refuses such domains outright."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        pass
    local, at, domain = value.rpartition("@")
    labels = domain.lower().split(".")
    if at and labels[-1] in LOCAL_ONLY_DOMAINS and all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        try:
            # The local part checked as email_validator checks any other; the domain was checked above.
            checked = validate_email(f"{local}@example.org", check_deliverability=False)
        except EmailNotValidError:
            pass
        else:
            return f"{checked.local_part}@{'.'.join(labels)}"
    errors["sender_email"] = FieldError("lists_err_email", {"field": "sender_email"})
    return None


_TEXT_FIELDS = frozenset(
    {*_LIMITS, "sender_email", "reply_to", "contact_email", "language", "article_text", "time", "time_zone"}
)


def _check(name: str, value: Any, errors: dict[str, FieldError]) -> Any:
    """One field's new value, or None with an entry in `errors`."""
    if name in _TEXT_FIELDS or name == "weekday":
        allowed = (str, int) if name == "weekday" else (str,)
        if value is not None and (not isinstance(value, allowed) or isinstance(value, bool)):
            errors[name] = FieldError("lists_err_type", {"field": name})
            return None
        text = str(value if value is not None else "").strip()
        if unfit_for_one_line(text):
            # Refused, not cleaned: an admin's field goes into headers and pages as typed.
            errors[name] = FieldError("lists_err_control", {"field": name})
            return None
        return _check_text(name, text, errors)
    if name == "schedule_enabled":
        if not isinstance(value, bool):
            errors[name] = FieldError("lists_err_type", {"field": name})
        return value
    if name == "rate_limit":
        try:
            rate = float(value) if value not in (None, "") and not isinstance(value, bool) else 0.0
        except (TypeError, ValueError):
            rate = -1.0
        if math.isnan(rate) or not 0 <= rate <= MAX_RATE:
            errors[name] = FieldError("lists_err_rate", {"max": int(MAX_RATE)})
            return None
        return rate or None  # 0 = no limit
    if name == "catch_up_hours":
        return _catch_up(value, errors)
    if name == "review_below":
        return _review_below(value, errors)
    if name == "bounce_domain":
        return _bounce_domain(value, errors)
    if name == "bounce_threshold":
        return _bounce_threshold(value, errors)
    if name == "credits":
        return _credits(value, errors)
    errors[name] = FieldError("lists_err_unknown_field", {"field": name})
    return None


def _catch_up(value: Any, errors: dict[str, FieldError]) -> float | None:
    """Hours a slot may still go late (0: only on time); at most a week less a day, or it would meet the next."""
    try:
        hours = float(value) if value not in (None, "") and not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        hours = -1.0
    if math.isnan(hours) or not 0 <= hours <= MAX_CATCH_UP_HOURS:
        errors["catch_up_hours"] = FieldError("lists_err_catch_up", {"max": int(MAX_CATCH_UP_HOURS)})
        return None
    return hours


def _review_below(value: Any, errors: dict[str, FieldError]) -> float | None:
    """The tagger's confidence under which an article waits for an editor: 0 (none waits but the unplaced)
    to 1 (every tagged article waits)."""
    try:
        share = float(value) if value not in (None, "") and not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        share = -1.0
    if math.isnan(share) or not 0 <= share <= 1:
        errors["review_below"] = FieldError("lists_err_review_below")
        return None
    return share


def _bounce_domain(value: Any, errors: dict[str, FieldError]) -> str | None:
    """The list's own VERP domain ("" or None: the site's, DIGEST_BOUNCE_DOMAIN)."""
    text = value.strip() if isinstance(value, str) else "" if value is None else None
    if text is None:
        errors["bounce_domain"] = FieldError("lists_err_type", {"field": "bounce_domain"})
        return None
    if not text:
        return None
    try:
        return check_domain(text, "bounce_domain")
    except LoopSettingError:
        errors["bounce_domain"] = FieldError("lists_err_bounce_domain", {"value": text[:253]})
        return None


def _bounce_threshold(value: Any, errors: dict[str, FieldError]) -> float | None:
    """The soft-bounce score that suppresses an address (digest/core/bounces/policy.py); 0 never does."""
    try:
        score = float(value) if value not in (None, "") and not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        score = -1.0
    if math.isnan(score) or not 0 <= score <= MAX_BOUNCE_THRESHOLD:
        errors["bounce_threshold"] = FieldError("lists_err_bounce_threshold", {"max": int(MAX_BOUNCE_THRESHOLD)})
        return None
    return score


def _check_text(name: str, text: str, errors: dict[str, FieldError]) -> Any:
    """A field typed as text (the weekday too, which a form sends as text): its clean value or None."""
    if name == "weekday":
        try:
            return parse_weekday(text)
        except ValueError:
            errors[name] = FieldError("lists_err_weekday")
            return None
    if name in _LIMITS:
        if name == "name" and not text:
            errors[name] = FieldError("lists_err_required", {"field": name})
        elif len(text) > _LIMITS[name]:
            errors[name] = FieldError("lists_err_too_long", {"field": name, "max": _LIMITS[name]})
        return None if name == "postal_address" and not text else text
    if name == "sender_email":
        return _sender_email(text, errors)
    if name in ("reply_to", "contact_email"):
        return _email(text, name, errors) if text else None
    if name == "language":
        if text not in LANGUAGES:
            errors[name] = FieldError("lists_err_language")
        return text
    if name == "article_text":
        if text not in ARTICLE_TEXT_MODES:
            errors[name] = FieldError("lists_err_article_text", {"value": text[:64]})
        return text
    if name == "time":
        match = _TIME.fullmatch(text)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            errors[name] = FieldError("lists_err_time")
            return None
        return time(int(match[1]), int(match[2])).strftime("%H:%M")
    try:
        zone(text)
    except ValueError:
        errors[name] = FieldError("lists_err_zone", {"value": text[:64]})
    return text


def _credits(value: Any, errors: dict[str, FieldError]) -> list[list[str]] | None:
    """Ordered (label, value) pairs; rows left blank in a form are dropped."""
    if not isinstance(value, list | tuple):
        errors["credits"] = FieldError("lists_err_type", {"field": "credits"})
        return None
    pairs = []
    for row, pair in enumerate(value, 1):
        if not isinstance(pair, list | tuple) or len(pair) != 2 or not all(isinstance(x, str) for x in pair):
            errors["credits"] = FieldError("lists_err_type", {"field": "credits"})
            return None
        label, text = pair[0].strip(), pair[1].strip()
        if unfit_for_one_line(label + text):
            errors["credits"] = FieldError("lists_err_control", {"field": "credits"})
            return None
        if not label and not text:
            continue
        if not label or not text:
            errors["credits"] = FieldError("lists_err_credit_incomplete", {"row": row})
            return None
        if len(label) > 20 or len(text) > 200:
            errors["credits"] = FieldError("lists_err_credit_long", {"row": row})
            return None
        pairs.append([label, text])
    if len(pairs) > MAX_CREDITS:
        errors["credits"] = FieldError("lists_err_too_many", {"field": "credits", "max": MAX_CREDITS})
        return None
    return pairs


def _topics(ml: models.MailingList, value: Any, errors: dict[str, FieldError]) -> list[tuple[str, str]] | None:
    """Every existing topic once, in the new order, renamed as asked; new slugs add topics."""
    if not isinstance(value, list | tuple) or not all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value
    ):
        errors["topics"] = FieldError("lists_err_type", {"field": "topics"})
        return None
    wanted = [(slug.strip(), name.strip()) for slug, name in value]
    slugs = [s for s, _ in wanted]
    names = [n for _, n in wanted]
    existing = {t.slug for t in ml.topics}
    missing = [t.name for t in ml.topics if t.slug not in slugs]
    if missing:
        errors["topics"] = FieldError("lists_err_topic_missing", {"name": "、".join(missing)})
    elif len(wanted) > MAX_TOPICS:
        errors["topics"] = FieldError("lists_err_too_many", {"field": "topics", "max": MAX_TOPICS})
    elif bad := next((s for s in slugs if s not in existing and not _SLUG.fullmatch(s)), None):
        errors["topics"] = FieldError("lists_err_topic_slug", {"slug": bad[:64]})
    elif any(unfit_for_one_line(n) for n in names):
        errors["topics"] = FieldError("lists_err_control", {"field": "topics"})
    elif empty := next((s for s, n in wanted if not n or len(n) > 100), None):
        errors["topics"] = FieldError("lists_err_topic_name", {"slug": empty[:64]})
    elif len(set(slugs)) != len(slugs) or len({n.casefold() for n in names}) != len(names):
        errors["topics"] = FieldError("lists_err_topic_duplicate")
    return None if "topics" in errors else wanted


# Fields a caller may change, in the order the form shows them.
FIELDS = (
    "name",
    "sender_name",
    "sender_email",
    "reply_to",
    "language",
    "article_text",
    "weekday",
    "time",
    "time_zone",
    "schedule_enabled",
    "rate_limit",
    "catch_up_hours",
    "review_below",
    "bounce_domain",
    "bounce_threshold",
    "masthead",
    "tagline",
    "credits",
    "contact_email",
    "postal_address",
    "topics",
)
_COLUMNS = {"weekday": "send_weekday", "time": "send_time"}


def update_list(session: Session, ml: models.MailingList, changes: Mapping[str, Any]) -> None:
    """Check every field in `changes`, then write them all; Invalid (nothing written) otherwise."""
    errors: dict[str, FieldError] = {}
    new = _checked(ml, changes, errors)
    if errors:
        raise Invalid(errors)
    _write(session, ml, new)


def create_list(session: Session, slug: str, changes: Mapping[str, Any]) -> models.MailingList:
    """A new list with the slug and the settings in `changes` (a name at least), checked as `update_list` checks
    an edit; the slug is checked too (its pattern, not taken). Invalid, with every refused field, otherwise."""
    errors: dict[str, FieldError] = {}
    if not _SLUG.fullmatch(slug):
        errors["slug"] = FieldError("lists_err_slug", {"value": slug[:64]})
    elif session.scalar(select(models.MailingList.id).where(models.MailingList.slug == slug)) is not None:
        errors["slug"] = FieldError("lists_err_slug_taken", {"value": slug})
    ml = models.MailingList(slug=slug, name="", sender_email="", credits=[], language="zh-CN")
    new = _checked(ml, {"name": "", **changes}, errors)
    if errors:
        raise Invalid(errors)
    session.add(ml)
    _write(session, ml, new)
    return ml


def _checked(ml: models.MailingList, changes: Mapping[str, Any], errors: dict[str, FieldError]) -> dict[str, Any]:
    return {
        name: _topics(ml, value, errors) if name == "topics" else _check(name, value, errors)
        for name, value in changes.items()
    }


def _write(session: Session, ml: models.MailingList, new: dict[str, Any]) -> None:
    topics = new.pop("topics", None)
    for name, value in new.items():
        setattr(ml, _COLUMNS.get(name, name), value)
    if topics is not None:
        _apply_topics(session, ml, topics)
    session.flush()


def _apply_topics(session: Session, ml: models.MailingList, wanted: list[tuple[str, str]]) -> None:
    by_slug = {t.slug: t for t in ml.topics}
    renamed = [by_slug[s] for s, n in wanted if s in by_slug and by_slug[s].name != n]
    # Names are unique per list and checked per statement: swapping two names needs a step between.
    for topic in renamed:
        topic.name = f"~{topic.id}~renaming"
    session.flush()
    for position, (slug, name) in enumerate(wanted):
        existing = by_slug.get(slug)
        if existing is None:
            ml.topics.append(models.Topic(slug=slug, name=name, position=position))
        else:
            existing.name, existing.position = name, position
    session.flush()
    session.expire(ml, ["topics"])


def settings_of(ml: models.MailingList) -> dict[str, Any]:
    """The editable fields as `update_list` takes them."""
    return {
        "name": ml.name,
        "sender_name": ml.sender_name,
        "sender_email": ml.sender_email,
        "reply_to": ml.reply_to or "",
        "language": ml.language,
        "article_text": ml.article_text,
        "weekday": WEEKDAYS[ml.send_weekday],
        "time": ml.send_time,
        "time_zone": ml.time_zone,
        "schedule_enabled": ml.schedule_enabled,
        "rate_limit": ml.rate_limit,
        "catch_up_hours": ml.catch_up_hours,
        "review_below": ml.review_below,
        "bounce_domain": ml.bounce_domain or "",
        "bounce_threshold": ml.bounce_threshold,
        "masthead": ml.masthead,
        "tagline": ml.tagline,
        "credits": [[str(k), str(v)] for k, v in (ml.credits or [])],
        "contact_email": ml.contact_email or "",
        "postal_address": ml.postal_address or "",
        "topics": [[t.slug, t.name] for t in ml.topics],
    }
