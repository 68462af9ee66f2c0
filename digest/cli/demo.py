"""`digest demo`: the whole weekly job on embedded defaults, in one command."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
from sqlalchemy import func, select

from digest.adapters.storage import models
from digest.adapters.storage.db import upgrade_database
from digest.cli.sendout import exit_for, print_send_table, run_send
from digest.core.ingest import parse_file
from digest.core.statuses import SubscriptionStatus
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime
from digest.services.subscribers import upsert_subscription

DEMO_ISSUE = Path(__file__).resolve().parent.parent / "data" / "demo-issue.txt"

# (email, name, regions, topics): one of each kind of reader the list has.
DEMO_SUBSCRIBERS = (
    ("wang.fang@example.cn", "王芳", "全国", ""),  # national news only
    ("li.wei@example.cn", "李伟", "湖南", ""),  # a province: gets 怀化 and 邵阳 too
    ("zhang.min@example.cn", "张敏", "安康", ""),  # a city
    ("chen.jing@example.cn", "陈静", "临泽", ""),  # a county of 张掖, 甘肃
    ("liu.yang@example.cn", "刘洋", "", "产业发展,公共服务"),  # topics only, every region
    ("zhao.lei@example.cn", "赵磊", "西藏", "人居环境"),  # nothing matches: gets no message
)


def run_demo(runtime: Runtime, outbox: Path | None) -> None:
    if outbox is not None:
        runtime = dataclasses.replace(runtime, settings=dataclasses.replace(runtime.settings, outbox=outbox))
    settings = runtime.settings
    click.echo(f"database: {settings.database_url}")
    upgrade_database(settings.database_url)
    now = settings.clock.local(NEWSROOM_TZ)
    parsed = parse_file(DEMO_ISSUE, default_published=now)
    with runtime.transaction() as session:
        ml = ensure_default_list(session)
        # The newsletter's footer fills the list's empty credits and addresses (store_articles offers it).
        report = store_articles(session, ml, parsed, runtime.regions, source=str(DEMO_ISSUE), published=now)
        for email, name, regions, topics in DEMO_SUBSCRIBERS:
            upsert_subscription(
                session,
                ml,
                runtime.regions,
                email=email,
                name=name,
                region_labels=[r for r in regions.split(",") if r],
                topic_labels=[t for t in topics.split(",") if t],
                status=SubscriptionStatus.CONFIRMED,
            )
        # The issue covers the week in which the demo content was first loaded,
        # so a second run finds the same issue and sends nothing twice.
        latest = session.scalar(select(func.max(models.Article.published_at)).where(models.Article.list_id == ml.id))
        slug = ml.slug
    for problem in report.problems:
        click.secho(str(problem), fg="yellow" if problem.severity == "warning" else "red", err=True)
    click.echo(
        f"articles: {report.added} loaded, {report.unchanged} already there; subscribers: {len(DEMO_SUBSCRIBERS)}"
    )
    assert latest is not None  # the demo issue's articles were stored above, or by an earlier run
    period_end = latest.astimezone(NEWSROOM_TZ).date()
    result = run_send(runtime, slug, period_end)
    print_send_table(result)
    where = settings.smtp_url or settings.outbox.resolve()
    click.echo(f"\nmessages: {where}  (open the .eml files in a mail client)")
    if not result.report.counts and not result.report.halted:
        click.echo("this week's issue was delivered by an earlier run; delete the database to start over")
    exit_for(result, f"digest issues retry {result.issue_number}")
