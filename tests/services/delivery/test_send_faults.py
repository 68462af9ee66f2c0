"""Faults of the installation stop a send and blame no one; a subscriber's own fault fails their row alone;
`digest issues retry` sends failed rows again, once. `digest send` run as a user runs it (click's runner),
a real SMTP server on loopback, the ledger on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_db import make_settings
from personas import ALL, LI_HUNAN, ZHANG_ANKANG
from sqlalchemy import delete, select
from test_sending import EXPECTED, _seed

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.cli.commands import main
from digest.services.issues import IssueStateError, RetryError, cancel_issue, retry_deliveries
from digest.services.lists import ensure_default_list

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
ONCE_EACH = Counter(list(EXPECTED))  # every subscriber with matching articles, one message each


def _digest(database_url, tmp_path, smtp_server, *args, templates: Path | None = None):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    env = {
        "DIGEST_DATABASE_URL": database_url,
        "DIGEST_SMTP_URL": settings.smtp_url,
        "DIGEST_SECRET_KEY": settings.secret_key,
        "DIGEST_BASE_URL": settings.base_url,
        "DIGEST_OUTBOX": str(settings.outbox),
        "DIGEST_BROKER_URL": None,
        "DIGEST_TEMPLATES_DIR": str(templates) if templates else None,
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _send(database_url, tmp_path, smtp_server, templates: Path | None = None):
    return _digest(database_url, tmp_path, smtp_server, "send", "--period-end", "2021-06-20", templates=templates)


def _statuses(url) -> dict[str, tuple[str, int]]:
    with transaction(url) as session:
        rows = session.execute(
            select(models.Subscriber.email, models.Delivery.status, models.Delivery.attempts).join(models.Delivery)
        ).all()
    return {email: (status, attempts) for email, status, attempts in rows}


def _received(smtp_server) -> Counter:
    return Counter(m.rcpt_tos[0] for m in smtp_server.messages)


def _error_lines(result) -> list[str]:
    # stderr also carries the progress bar's label; the error is the line click writes.
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def test_missing_templates_stop_the_send_leave_every_row_pending_and_a_later_run_sends_each_once(
    database_url, tmp_path, smtp_server
):
    _seed(database_url)
    empty = tmp_path / "no-templates"
    empty.mkdir()
    broken = _send(database_url, tmp_path, smtp_server, templates=empty)
    assert broken.exit_code == 3, broken.output
    [line] = _error_lines(broken)
    assert "template 'digest.subject.txt' not found" in line and str(empty) in line
    assert "no delivery was marked failed" in line
    assert smtp_server.messages == []
    assert _statuses(database_url) == {p.email: ("pending", 0) for p in ALL}

    fixed = _send(database_url, tmp_path, smtp_server)
    assert fixed.exit_code == 0, fixed.output
    assert "5 sent, 1 skipped" in fixed.stdout
    assert _received(smtp_server) == ONCE_EACH  # each once, nobody skipped
    with transaction(database_url) as session:
        assert session.scalar(select(models.Issue.status)) == "sent"


def test_a_template_failing_mid_send_stops_there_and_the_next_run_sends_the_rest_once(
    database_url, tmp_path, smtp_server
):
    # Fails only for 安康's content, which 张敏 (third) is the first to need:
    # two messages have left by then, and they must not leave again.
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    subject = templates / "digest.subject.txt"
    ankang = EXPECTED[ZHANG_ANKANG.email][0]
    subject.write_text(
        "{% for s in digest.sections %}{% for a in s.articles %}"
        f"{{% if a.title == {ankang!r} %}}{{{{ no_such_value }}}}{{% endif %}}"
        "{% endfor %}{% endfor %}" + subject.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    _seed(database_url)
    broken = _send(database_url, tmp_path, smtp_server, templates=templates)
    assert broken.exit_code == 3, broken.output
    [line] = _error_lines(broken)
    assert "no_such_value" in line and "no delivery was marked failed" in line
    statuses = _statuses(database_url)
    assert {e for e, (s, _) in statuses.items() if s == "sent"} == set(_received(smtp_server))
    assert len(smtp_server.messages) == 2
    assert {s for e, (s, _) in statuses.items() if e not in _received(smtp_server)} == {"pending"}

    fixed = _send(database_url, tmp_path, smtp_server)
    assert fixed.exit_code == 0, fixed.output
    assert _received(smtp_server) == ONCE_EACH


@pytest.mark.parametrize(
    ("field", "words"),
    [("sender_name", "sender name contains a line break"), ("name", "list name contains a line break")],
)
def test_a_line_break_in_a_list_setting_stops_the_send_and_blames_no_subscriber(
    database_url, tmp_path, smtp_server, field, words
):
    _seed(database_url)
    with transaction(database_url) as session:  # stored as an old version or a direct edit might have
        ml = ensure_default_list(session)
        good = getattr(ml, field)
        setattr(ml, field, "乡村振兴\nBcc: everyone@example.org")
    broken = _send(database_url, tmp_path, smtp_server)
    assert broken.exit_code == 3, broken.output
    [line] = _error_lines(broken)
    assert words in line and "'rural-weekly'" in line
    assert smtp_server.messages == []
    assert _statuses(database_url) == {p.email: ("pending", 0) for p in ALL}

    with transaction(database_url) as session:
        setattr(ensure_default_list(session), field, good)
    fixed = _send(database_url, tmp_path, smtp_server)
    assert fixed.exit_code == 0, fixed.output
    assert _received(smtp_server) == ONCE_EACH


def test_a_refused_address_fails_that_row_alone_exit_1_and_retry_sends_it_once_after_the_fix(
    database_url, tmp_path, smtp_server
):
    _seed(database_url)
    smtp_server.handler.fail_rcpt[LI_HUNAN.email] = (550, "5.1.1 mailbox unavailable")
    first = _send(database_url, tmp_path, smtp_server)
    assert first.exit_code == 1, first.output
    assert "1 bounced, 4 sent, 1 skipped" in first.stdout  # the summary comes first
    assert "1 delivery failed" in first.stderr and "digest issues retry 1" in first.stderr
    assert _statuses(database_url)[LI_HUNAN.email][0] == "bounced"
    assert LI_HUNAN.email not in _received(smtp_server)

    del smtp_server.handler.fail_rcpt[LI_HUNAN.email]
    # The address is still suppressed: a retry of bounced rows leaves it, and says so.
    still = _digest(database_url, tmp_path, smtp_server, "issues", "retry", "1", "--status", "bounced")
    assert still.exit_code == 0, still.output
    assert "0 bounced deliveries put back to pending; 1 left" in still.stdout and "suppressed" in still.stdout
    with transaction(database_url) as session:  # the admin lifts the suppression
        session.execute(delete(models.Suppression).where(models.Suppression.email == LI_HUNAN.email))
    again = _digest(database_url, tmp_path, smtp_server, "issues", "retry", "1", "--status", "bounced")
    assert again.exit_code == 0, again.output
    assert "1 bounced delivery put back to pending" in again.stdout and "1 sent" in again.stdout
    assert _received(smtp_server) == ONCE_EACH  # 李伟 once, nobody twice
    assert _statuses(database_url)[LI_HUNAN.email] == ("sent", 1)
    with transaction(database_url) as session:
        assert session.scalar(select(models.Issue.status)) == "sent"


def test_a_subscribers_own_malformed_name_fails_their_row_and_retry_sends_it_once_fixed(
    database_url, tmp_path, smtp_server
):
    _seed(database_url)
    with transaction(database_url) as session:
        person = session.scalar(select(models.Subscriber).where(models.Subscriber.email == ZHANG_ANKANG.email))
        person.name = "张\r\nBcc: everyone@example.org"
    first = _send(database_url, tmp_path, smtp_server)
    assert first.exit_code == 1, first.output
    assert "1 failed, 4 sent, 1 skipped" in first.stdout
    assert "recipient name contains a line break" in first.stdout  # the table's why
    # 陈静 shares 张敏's content: the content is fine, only 张敏's name is not.
    assert _received(smtp_server) == Counter({e: 1 for e in EXPECTED if e != ZHANG_ANKANG.email})

    unchanged = _digest(database_url, tmp_path, smtp_server, "issues", "retry", "1")
    assert unchanged.exit_code == 1 and "1 failed" in unchanged.stdout  # not fixed yet: fails again, alone
    with transaction(database_url) as session:
        person = session.scalar(select(models.Subscriber).where(models.Subscriber.email == ZHANG_ANKANG.email))
        person.name = ZHANG_ANKANG.name
    fixed = _digest(database_url, tmp_path, smtp_server, "issues", "retry", "1")
    assert fixed.exit_code == 0, fixed.output
    assert "1 failed delivery put back to pending" in fixed.stdout
    assert _received(smtp_server) == ONCE_EACH
    nothing = _digest(database_url, tmp_path, smtp_server, "issues", "retry", "1")
    assert nothing.exit_code == 0 and "0 failed deliveries put back" in nothing.stdout
    assert _received(smtp_server) == ONCE_EACH


def test_retry_touches_only_rows_of_the_status_asked_and_never_a_cancelled_issue(database_url, tmp_path, smtp_server):
    _seed(database_url)
    assert _send(database_url, tmp_path, smtp_server).exit_code == 0
    with transaction(database_url) as session:
        issue = session.scalar(select(models.Issue))
        rows = session.scalars(select(models.Delivery).order_by(models.Delivery.id)).all()
        # One row of each state a worker or the past could leave it in.
        for row, status in zip(rows, ("failed", "sending", "queued", "sent", "bounced", "skipped"), strict=True):
            row.status = status
        session.flush()
        assert retry_deliveries(session, issue, "failed") == (1, 0)
        assert session.scalars(select(models.Delivery.status).order_by(models.Delivery.id)).all() == [
            "pending",
            "sending",
            "queued",
            "sent",
            "bounced",
            "skipped",
        ]
        assert issue.status == "sending"  # handed out again
        with pytest.raises(RetryError) as bad:
            retry_deliveries(session, issue, "sent")
        assert bad.value.field == "status" and "'sent'" in str(bad.value)
        cancel_issue(session, issue)
        with pytest.raises(IssueStateError, match="cancelled"):
            retry_deliveries(session, issue, "failed")
    refused = _digest(database_url, tmp_path, smtp_server, "issues", "retry", "1")
    assert refused.exit_code == 1 and "was cancelled" in refused.stderr
    wrong = _digest(database_url, tmp_path, smtp_server, "issues", "retry", "1", "--status", "sent")
    assert wrong.exit_code == 2 and "--status" in wrong.stderr


def test_a_database_or_transport_that_cannot_be_reached_stops_with_exit_3_and_rows_pending(
    database_url, tmp_path, smtp_server
):
    from smtpserver import free_port

    _seed(database_url)
    env = {"DIGEST_BROKER_URL": None, "DIGEST_TEMPLATES_DIR": None, "DIGEST_SECRET_KEY": "k" * 32}
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/digest"
    no_database = CliRunner().invoke(
        main, ["send", "--period-end", "2021-06-20"], env={**env, "DIGEST_DATABASE_URL": nowhere}
    )
    assert no_database.exit_code == 3 and "database error" in no_database.stderr
    assert "Traceback" not in no_database.output

    for smtp_url, words in (
        (f"smtp://127.0.0.1:{free_port()}", "cannot connect"),
        ("smtp://127.0.0.1:25?starttls=maybe", "starttls must be 1 or 0"),
    ):
        result = CliRunner().invoke(
            main,
            ["send", "--period-end", "2021-06-20"],
            env={**env, "DIGEST_DATABASE_URL": database_url, "DIGEST_SMTP_URL": smtp_url},
        )
        assert result.exit_code == 3, result.output
        [line] = _error_lines(result)
        assert words in line and "no delivery was marked failed" in line
        assert _statuses(database_url) == {p.email: ("pending", 0) for p in ALL}
    assert _send(database_url, tmp_path, smtp_server).exit_code == 0
    assert _received(smtp_server) == ONCE_EACH
