"""`digest lists …`: list, show and create lists, and set their weekly schedule."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any

import click

from digest.cli.context import current_runtime
from digest.cli.output import print_table
from digest.core.leads import ARTICLE_TEXT_MODES, DEFAULT_ARTICLE_TEXT
from digest.core.schedule import WEEKDAYS, Slot, parse_weekday
from digest.core.statuses import SubscriptionStatus
from digest.services.list_editing import LANGUAGES, create_list, settings_of, subscriber_counts, update_list
from digest.services.lists import DEFAULT_TOPICS, all_lists, get_list
from digest.services.validation import FieldError, Invalid

# The console words a refused field in its reader's language (web/admin/lists.py); the CLI says it in English.
_REFUSALS = {
    "lists_err_slug": "{value!r} is not a slug: lower-case letters, digits and hyphens, at most 64",
    "lists_err_slug_taken": "there is a list with the slug {value!r} already",
    "lists_err_required": "is required",
    "lists_err_too_long": "is too long: at most {max} characters",
    "lists_err_control": "may not hold line breaks, other control characters or bidi controls",
    "lists_err_email": "is not a valid email address",
    "lists_err_language": "is zh-CN or en",
    "lists_err_article_text": "is lead or full, not {value!r}",
    "lists_err_weekday": "is a day from monday to sunday",
    "lists_err_time": "is a 24-hour time like 08:00",
    "lists_err_zone": "{value!r} is not a time zone; use an IANA name such as Asia/Shanghai",
    "lists_err_rate": "is a number from 0 to {max}",
    "lists_err_catch_up": "is a number of hours from 0 to {max}",
    "lists_err_topic_slug": "topic slug {slug!r} is invalid: lower-case letters, digits and hyphens only",
    "lists_err_topic_name": "topic {slug!r} needs a name of at most 100 characters",
    "lists_err_topic_duplicate": "topic slugs and names must be unique",
    "lists_err_too_many": "at most {max} entries",
    "lists_err_bounce_domain": "{value!r} is not a domain name (e.g. bounce.example.org)",
    "lists_err_bounce_threshold": "is a score from 0 to {max} (0: never)",
}
CATCH_UP_HELP = (
    "How late (hours) the schedule may still send a slot it finds passed, after the scheduler was down; "
    "later than that, the slot is not sent and the next one comes as usual."
)
# The option that set each field, to name it in a refusal.
_FLAGS = {
    "slug": "SLUG",
    "time_zone": "--tz",
    "rate_limit": "--rate",
    "schedule_enabled": "--enable/--disable",
    "catch_up_hours": "--catch-up",
}


@click.group("lists")
def lists_group() -> None:
    """Show lists, create one, and set their weekly schedule."""


@lists_group.command("list")
def lists_list() -> None:
    """Every list: slug, name, language and confirmed subscribers."""
    with current_runtime().transaction() as session:
        counts = subscriber_counts(session)
        rows = [
            (ml.slug, ml.name, ml.language, counts.get(ml.id, {}).get(SubscriptionStatus.CONFIRMED, 0))
            for ml in all_lists(session)
        ]
    print_table([("slug", "name", "language", "subscribers"), *rows])


@lists_group.command("show")
@click.argument("slug")
def lists_show(slug) -> None:
    """One list's settings: sender, language, weekly slot, rate limit, branding, topics."""
    with current_runtime().transaction() as session:
        ml = get_list(session, slug)
        settings = settings_of(ml)
        counts = subscriber_counts(session).get(ml.id, {})
        _print_settings(ml.slug, settings, counts)


def _print_settings(slug: str, settings: Mapping[str, Any], counts: Mapping[str, int]) -> None:
    rows: list[tuple[str, str]] = [("slug", slug)]
    for name, value in settings.items():
        if name == "credits":
            value = "; ".join(f"{label}: {text}" for label, text in value)
        elif name == "topics":
            value = ", ".join(f"{topic_slug} ({topic_name})" for topic_slug, topic_name in value)
        elif name == "schedule_enabled":
            value = "on" if value else "off"
        elif name == "rate_limit":
            value = f"{value:g}/s" if value else "unlimited"
        elif name == "catch_up_hours":
            value = f"{value:g} h"
        elif name == "bounce_domain":
            value = value or "(the site's: DIGEST_BOUNCE_DOMAIN)"
        rows.append((name, str(value)))
    rows.append(("subscribers", ", ".join(f"{counts.get(s, 0)} {s}" for s in SubscriptionStatus)))
    print_table(rows)


def _topics(value: str) -> list[list[str]]:
    """`slug:name,slug:name` as the list form's topics."""
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        topic_slug, _, name = item.partition(":")
        pairs.append([topic_slug.strip(), name.strip()])
    return pairs


@lists_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The list's name (the From name and masthead unless given).")
@click.option("--sender-email", help="The From address (default: SLUG@ the host of DIGEST_BASE_URL).")
@click.option("--sender-name", help="The From name (default: the list's name).")
@click.option("--reply-to", help="Where replies go (default: the sender).")
@click.option("--language", type=click.Choice(LANGUAGES), default="zh-CN", show_default=True)
@click.option(
    "--article-text",
    type=click.Choice(ARTICLE_TEXT_MODES),
    default=DEFAULT_ARTICLE_TEXT,
    show_default=True,
    help="What the mail carries of each article: its lead and a link to the whole, or the full text.",
)
@click.option("--weekday", default="monday", show_default=True, help="monday … sunday")
@click.option("--time", "at", default="08:00", show_default=True, metavar="HH:MM", help="Local time of the slot.")
@click.option("--tz", default="Asia/Shanghai", show_default=True, help="The list's time zone (IANA name).")
@click.option("--rate", default="0", show_default=True, help="Messages per second at most (0 = no limit).")
@click.option("--enable/--disable", default=True, show_default=True, help="Send automatically on schedule.")
@click.option("--catch-up", default="6", show_default=True, metavar="HOURS", help=CATCH_UP_HELP)
@click.option(
    "--bounce-domain", default="", help="The domain of its VERP return paths (default: DIGEST_BOUNCE_DOMAIN)."
)
@click.option(
    "--bounce-threshold", default="5", show_default=True, help="The soft-bounce score that suppresses (0: never)."
)
@click.option("--masthead", help="The heading of every digest (default: the list's name).")
@click.option("--tagline", default="", help="A line under the masthead.")
@click.option("--contact-email", default="", help="Shown in the footer.")
@click.option("--postal-address", default="", help="Shown in the footer.")
@click.option(
    "--topics",
    metavar="SLUG:NAME,..",
    help="The sections, in order (default: " + ", ".join(f"{s}:{n}" for s, n in DEFAULT_TOPICS) + ").",
)
def lists_create(slug, **options) -> None:
    """Create a list SLUG, its settings checked as the console's list form checks them."""
    runtime = current_runtime()
    changes = _changes(options, default_sender=f"{slug}@{runtime.settings.link_domain}")
    with runtime.transaction() as session:
        try:
            ml = create_list(session, slug, changes)
        except Invalid as exc:
            refusal = _refusal(exc.errors)
            if "sender_email" in exc.errors and not options["sender_email"]:
                refusal += f" (the default, {changes['sender_email']}, is not one: give --sender-email)"
            raise click.UsageError(refusal) from None
        click.echo(f"created list {ml.slug} ({ml.name})")
        _print_settings(ml.slug, settings_of(ml), {})


def _changes(options: dict[str, Any], *, default_sender: str) -> dict[str, Any]:
    name = options["name"]
    return {
        "name": name,
        "sender_name": options["sender_name"] or name,
        "sender_email": options["sender_email"] or default_sender,
        "reply_to": options["reply_to"] or "",
        "language": options["language"],
        "article_text": options["article_text"],
        "weekday": options["weekday"],
        "time": options["at"],
        "time_zone": options["tz"],
        "rate_limit": options["rate"],
        "schedule_enabled": options["enable"],
        "catch_up_hours": options["catch_up"],
        "bounce_domain": options["bounce_domain"],
        "bounce_threshold": options["bounce_threshold"],
        "masthead": options["masthead"] or name,
        "tagline": options["tagline"],
        "contact_email": options["contact_email"],
        "postal_address": options["postal_address"],
        "topics": _topics(options["topics"]) if options["topics"] is not None else [list(t) for t in DEFAULT_TOPICS],
    }


def _refusal(errors: Mapping[str, FieldError]) -> str:
    """Every refused field in one line, each named by its option."""
    said = []
    for field, error in errors.items():
        flag = _FLAGS.get(field, "--" + field.replace("_", "-"))
        words = _REFUSALS.get(error.key, error.key).format(**error.values)
        said.append(f"{flag}: {words}")
    return "; ".join(said)


def _slot_time(hhmm: str) -> str:
    try:
        hours, minutes = (int(x) for x in hhmm.split(":"))
        return time(hours, minutes).strftime("%H:%M")
    except ValueError:
        raise click.BadParameter(f"{hhmm!r} is not a time like 08:00", param_hint="--time") from None


@lists_group.command("schedule")
@click.argument("slug")
@click.option("--weekday", help="monday … sunday")
@click.option("--time", "at", metavar="HH:MM", help="Local time of the slot.")
@click.option("--tz", help="The list's time zone (IANA name); it decides which week an issue covers.")
@click.option("--rate", type=float, help="Messages per second at most (0 = no limit).")
@click.option("--enable/--disable", default=None, help="Turn scheduled sending on or off.")
@click.option("--catch-up", "catch_up", type=float, metavar="HOURS", help=CATCH_UP_HELP)
def lists_schedule(slug, weekday, at, tz, **options) -> None:
    """Set when SLUG's issue goes out each week."""
    rate, enable, catch_up = options["rate"], options["enable"], options["catch_up"]
    with current_runtime().transaction() as session:
        ml = get_list(session, slug)
        day = parse_weekday(weekday) if weekday else ml.send_weekday
        slot_time = _slot_time(at or ml.send_time)
        Slot(day, time.fromisoformat(slot_time), tz or ml.time_zone)  # says which zone is unknown
        changes: dict[str, object] = {"weekday": day, "time": slot_time, "time_zone": tz or ml.time_zone}
        if rate is not None:
            changes["rate_limit"] = rate
        if enable is not None:
            changes["schedule_enabled"] = enable
        if catch_up is not None:
            changes["catch_up_hours"] = catch_up
        try:
            update_list(session, ml, changes)
        except Invalid as exc:  # the checks above leave only the rate and the catch-up window to refuse
            raise click.UsageError(_refusal(exc.errors)) from None
        click.echo(
            f"{ml.slug}: {WEEKDAYS[ml.send_weekday]} {ml.send_time} {ml.time_zone}, "
            f"rate {ml.rate_limit or 'unlimited'}/s, {'on' if ml.schedule_enabled else 'off'}, "
            f"catch-up {ml.catch_up_hours:g} h"
        )
