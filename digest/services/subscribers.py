"""Subscribers and their picks: add, import from CSV, export to CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Required, TextIO, TypedDict, Unpack

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.clock import wall_now
from digest.core.domain import Picks, Problem
from digest.core.fields import clean_name, unfit_for_one_line
from digest.core.ingest.csvfile import CountingLines, unreadable_row
from digest.core.regions import RegionIndex, RegionWarning, split_labels
from digest.core.statuses import SubscriptionStatus
from digest.services import NotFound
from digest.services.lists import resolve_topic
from digest.services.picks import store_picks

EXPORT_FIELDS = ("email", "name", "status", "regions", "topics", "time_zone", "locale", "created_at")


class InvalidSubscriber(ValueError):
    """Carries the field at fault, so callers can say where, and a code so pages can say why in their language."""

    def __init__(
        self,
        field_name: str,
        message: str,
        code: str | None = None,
        params: Mapping[str, object] | Iterable[tuple[str, object]] = (),
    ):
        super().__init__(message)
        self.field = field_name
        self.code = code
        self.params = tuple((k, str(v)) for k, v in dict(params).items())


def normalise_email(raw: str) -> str:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidSubscriber(
            "email", f"{raw.strip()!r} is not a valid email address: {exc}", "email_invalid", {"value": raw.strip()}
        ) from None
    return result.normalized


def resolve_picks(
    ml: models.MailingList, regions: RegionIndex, region_labels: Iterable[str], topic_labels: Iterable[str]
) -> tuple[list[str], list[str], list[RegionWarning]]:
    """Region codes, topic slugs and warnings; an unknown pick is an error, never dropped silently."""
    codes: list[str] = []
    warnings: list[RegionWarning] = []
    for label in region_labels:
        resolution = regions.resolve(label)
        if not resolution.ok:
            if len(resolution.warnings) == 1:
                warning = resolution.warnings[0]
                raise InvalidSubscriber("regions", warning, warning.code, warning.params)
            raise InvalidSubscriber(
                "regions",
                "; ".join(resolution.warnings) or f"unknown region {label!r}",
                "region_unknown",
                {"label": label},
            )
        warnings.extend(resolution.warnings)
        codes.extend(c for c in resolution.codes if c not in codes)
    slugs: list[str] = []
    for label in topic_labels:
        topic = resolve_topic(ml, label)
        if topic is None:
            names = "、".join(t.name for t in ml.topics)
            raise InvalidSubscriber(
                "topics",
                f"unknown topic {label!r} (this list has: {names})",
                "topic_unknown",
                {"topic": label, "known": names},
            )
        if topic.slug not in slugs:
            slugs.append(topic.slug)
    return codes, slugs, warnings


class Member(TypedDict, total=False):
    """Who joins or changes a membership, and what they pick: `upsert_subscription`'s options."""

    email: Required[str]
    name: str
    region_labels: Iterable[str]
    topic_labels: Iterable[str]
    status: str  # pending unless said


def upsert_subscription(
    session: Session, ml: models.MailingList, regions: RegionIndex, **member: Unpack[Member]
) -> tuple[models.Subscription, bool, list[RegionWarning]]:
    """Create or update a subscriber's membership of `ml`. Returns (subscription, created, warnings)."""
    address = normalise_email(member["email"])
    name = clean_name(member.get("name", ""))
    status = member.get("status", SubscriptionStatus.PENDING)
    if status not in tuple(SubscriptionStatus):
        raise InvalidSubscriber(
            "status",
            f"unknown status {status!r} (one of {', '.join(SubscriptionStatus)})",
            "status_unknown",
            {"value": status},
        )
    codes, slugs, warnings = resolve_picks(
        ml, regions, list(member.get("region_labels", ())), list(member.get("topic_labels", ()))
    )
    subscriber = session.scalar(select(models.Subscriber).where(models.Subscriber.email == address))
    if subscriber is None:
        subscriber = models.Subscriber(email=address, name=name)
        session.add(subscriber)
        session.flush()
    elif name:
        subscriber.name = name
    sub = session.scalar(
        select(models.Subscription).where(
            models.Subscription.list_id == ml.id, models.Subscription.subscriber_id == subscriber.id
        )
    )
    created = sub is None
    if sub is None:
        sub = models.Subscription(list_id=ml.id, subscriber_id=subscriber.id)
        session.add(sub)
    sub.region_codes = codes
    sub.topic_slugs = slugs
    if sub.status != status:
        sub.status = SubscriptionStatus(status)
        now = wall_now()  # joining and leaving: the real time, as the tokens compared with it (digest/core/clock.py)
        if status == SubscriptionStatus.CONFIRMED:
            sub.confirmed_at = now
        elif status == SubscriptionStatus.UNSUBSCRIBED:
            sub.unsubscribed_at = now
    session.flush()  # a new subscription has its id from here on
    store_picks(session, [sub.id])
    return sub, created, warnings


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    problems: list[Problem] = field(default_factory=list)


class ImportOptions(TypedDict, total=False):
    source: Required[str]  # the file's name, for the problems' "where"
    progress: Callable[[int], object] | None  # called once per row read
    default_status: str  # for rows without a status column; confirmed unless said


def import_subscribers_csv(
    session: Session, ml: models.MailingList, regions: RegionIndex, text: str, **options: Unpack[ImportOptions]
) -> ImportReport:
    """Import rows `email,name,regions,topics[,status]`; a bad row is reported and the rest kept.

    A row without a status gets `default_status`: confirmed, as whoever imports attests consent;
    but someone who left the list stays out unless their row says `confirmed` itself: an old
    spreadsheet must not sign people up again.

    Each row runs in a savepoint so a row that fails half-way leaves nothing behind.
    """
    source, progress = options["source"], options.get("progress")
    report = ImportReport()
    lines = CountingLines(text.lstrip("\ufeff"))
    reader = csv.DictReader(lines)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "email" not in header:
        report.problems.append(
            Problem(
                "the header row has no 'email' column",
                source=source,
                line=1,
                field="email",
                code="subs_no_email_column",
            )
        )
        return report
    reader.fieldnames = header
    rows = _RowImport(session, ml, regions, source, options.get("default_status", SubscriptionStatus.CONFIRMED))
    while True:
        lines.first_nonblank = None
        try:
            row = next(reader)
        except StopIteration:
            return report
        except csv.Error as exc:  # this row only: the reader goes on with the next line
            report.problems.append(unreadable_row(exc, source, lines.consumed))
            continue
        if progress:
            progress(1)
        rows.take(row, lines.first_nonblank or lines.consumed, report)  # where the row starts


@dataclass
class _RowImport:
    """One CSV row at a time into `ml`, each in a savepoint, its problems told by line and field."""

    session: Session
    ml: models.MailingList
    regions: RegionIndex
    source: str
    default_status: str

    def take(self, row: dict[str | None, str | list[str] | None], line: int, report: ImportReport) -> None:
        if None in row:
            report.problems.append(
                Problem("more cells than header columns", source=self.source, line=line, code="subs_extra_cells")
            )
            return
        cells = {k: str(v or "").strip() for k, v in row.items() if k is not None}
        if not cells.get("email"):
            report.problems.append(
                Problem("missing email", source=self.source, line=line, field="email", code="subs_missing_email")
            )
            return
        for name in ("email", "name"):
            if char := unfit_for_one_line(cells.get(name, "")):
                report.problems.append(
                    Problem(
                        f"{name} holds {char}: no control character or line break",
                        source=self.source,
                        line=line,
                        field=name,
                        code="field_control",
                        params={"field": name, "char": char},
                    )
                )
                return
        status = self._status(cells, line, report)
        try:
            with self.session.begin_nested():
                _, created, warnings = upsert_subscription(
                    self.session,
                    self.ml,
                    self.regions,
                    email=cells["email"],
                    name=cells.get("name", ""),
                    region_labels=split_labels(cells.get("regions", "")),
                    topic_labels=split_labels(cells.get("topics", "")),
                    status=status,
                )
        except InvalidSubscriber as exc:
            report.problems.append(
                Problem(str(exc), source=self.source, line=line, field=exc.field, code=exc.code, params=exc.params)
            )
            return
        for warning in warnings:
            report.problems.append(
                Problem(
                    warning,
                    source=self.source,
                    line=line,
                    field="regions",
                    severity="warning",
                    code=warning.code,
                    params=warning.params,
                )
            )
        if created:
            report.added += 1
        else:
            report.updated += 1

    def _status(self, cells: dict[str, str], line: int, report: ImportReport) -> str:
        if cells.get("status"):
            return cells["status"]
        if not _has_left(self.session, self.ml, cells["email"]):
            return self.default_status
        report.problems.append(
            Problem(
                "unsubscribed earlier: kept unsubscribed (a status column saying confirmed re-subscribes)",
                source=self.source,
                line=line,
                field="status",
                severity="warning",
                code="subs_kept_unsubscribed",
            )
        )
        return SubscriptionStatus.UNSUBSCRIBED


def subscription_by_email(session: Session, ml: models.MailingList, email: str) -> models.Subscription:
    """`email`'s membership of `ml`, or NotFound."""
    address = normalise_email(email)
    sub = session.scalar(
        select(models.Subscription)
        .join(models.Subscriber)
        .where(models.Subscription.list_id == ml.id, models.Subscriber.email == address)
    )
    if sub is None:
        raise NotFound(f"{address} is not subscribed to {ml.slug}")
    return sub


def _has_left(session: Session, ml: models.MailingList, email: str) -> bool:
    try:
        address = normalise_email(email)
    except InvalidSubscriber:
        return False  # upsert_subscription reports the bad address
    return (
        session.scalar(
            select(models.Subscription.id)
            .join(models.Subscriber)
            .where(
                models.Subscriber.email == address,
                models.Subscription.list_id == ml.id,
                models.Subscription.status == SubscriptionStatus.UNSUBSCRIBED,
            )
        )
        is not None
    )


def picks_of(sub: models.Subscription) -> Picks:
    return Picks(regions=frozenset(sub.region_codes or ()), topics=frozenset(sub.topic_slugs or ()))


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells that start with these as formulas; a leading quote defuses them."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def export_rows(
    subs: Iterable[models.Subscription], regions: RegionIndex, ml: models.MailingList
) -> Iterator[list[str]]:
    names = {t.slug: t.name for t in ml.topics}
    yield list(EXPORT_FIELDS)
    for sub in subs:
        s = sub.subscriber
        yield [
            _csv_safe(v)
            for v in (
                s.email,
                s.name,
                sub.status,
                ",".join(regions.display(c) for c in sub.region_codes or ()),
                ",".join(names.get(t, t) for t in sub.topic_slugs or ()),
                s.time_zone,
                s.locale,
                s.created_at.isoformat(timespec="seconds"),
            )
        ]


def write_csv(rows: Iterable[list[str]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)


def confirmed_emails(session: Session, ml: models.MailingList, *, limit: int = 100) -> list[str]:
    """The first `limit` confirmed addresses of the list, alphabetically: the test-send picker's choices."""
    return list(
        session.scalars(
            select(models.Subscriber.email)
            .join(models.Subscription)
            .where(models.Subscription.list_id == ml.id, models.Subscription.status == SubscriptionStatus.CONFIRMED)
            .order_by(models.Subscriber.email)
            .limit(limit)
        )
    )
