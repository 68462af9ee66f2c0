"""A console or API import is stored, run as a task (here in-process: no broker) and followed on its own page
or URL."""

from __future__ import annotations

import re

from importutil import refusing
from personas import SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import select
from webutil import add_staff, api_token, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime
from digest.services.subscriber_import_jobs import PROBLEMS_KEPT, queue_import, run_import

IMPORT = "/admin/subscribers/import"


def _upload(client, name: str, text: str):
    token = form_csrf(client.get(IMPORT).text, IMPORT)
    return client.post(
        IMPORT,
        data={"csrf_token": token, "list": "rural-weekly", "confirmed": "1"},
        files={"file": (name, text.encode(), "text/csv")},
    )


def _job(url: str) -> models.SubscriberImport:
    with transaction(url) as session:
        [job] = session.scalars(select(models.SubscriberImport)).all()
        session.expunge(job)
        return job


def _signed_in(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    return site.client


def test_an_upload_becomes_an_import_whose_page_shows_the_report_once_done(site):
    client = _signed_in(site)
    page = _upload(client, "people.csv", "email,name,regions\na@example.org,甲,湖南\nnot-an-address,乙,湖南\n")
    job = _job(site.url)
    assert page.status_code == 200 and str(page.url).endswith(f"/admin/subscribers/imports/{job.id}")
    assert (job.status, job.rows_total, job.rows_done, job.added, job.skipped) == ("done", 2, 2, 1, 1)
    assert (job.started_by, job.file_name, job.default_status) == (ZHOU_ADMIN.email, "people.csv", "confirmed")
    assert [(p["line"], p["field"], p["code"]) for p in job.problems] == [(3, "email", "email_invalid")]
    assert job.started_at is not None and job.finished_at is not None
    assert 'data-status="done"' in page.text and 'http-equiv="refresh"' not in page.text
    assert re.search(r'id="count-added">1<', page.text) and re.search(r'id="count-rejected">1<', page.text)
    assert re.search(r'<tr class="subs-problem error" data-line="3">', page.text)
    with transaction(site.url) as session:
        assert session.scalars(select(models.Subscriber.email)).all() == ["a@example.org"]


def test_a_queued_import_page_refreshes_itself_and_shows_how_far_it_is(site):
    client = _signed_in(site)
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        text = "email\n" + "".join(f"q{i}@example.org\n" for i in range(5))
        import_id = queue_import(
            session, ml, started_by="someone@example.org", file_name="q.csv", text=text, default_status="pending"
        )
    page = client.get(f"/admin/subscribers/imports/{import_id}")
    assert page.status_code == 200 and '<meta http-equiv="refresh" content="2">' in page.text
    progress = re.search(r'<p id="import-progress">(.*?)</p>', page.text).group(1)
    assert progress == "排队中，等待后台处理。 已处理 0 / 5 行，本页每两秒刷新。"
    assert "subs-problems" not in page.text
    assert client.get("/admin/subscribers/imports/999999").status_code == 404


def test_an_import_the_database_stops_says_where_and_keeps_what_was_done(site):
    client = _signed_in(site)
    rows = "".join(f"s{i:04d}@example.org,人{i},湖南\n" for i in range(6000))  # two chunks of 5,000 and more
    with refusing(site.url, "s5001@example.org"):
        page = _upload(client, "big.csv", "email,name,regions\n" + rows)
    job = _job(site.url)
    assert (job.status, job.rows_done, job.added, job.stopped_at) == ("failed", 5000, 5000, 5002)
    assert re.search(r'id="import-stopped">导入在第 5002 行中断', page.text)
    with transaction(site.url) as session:
        assert len(session.scalars(select(models.Subscription.id)).all()) == 5000


def test_an_import_keeps_the_first_problems_and_counts_the_rest(site):
    client = _signed_in(site)
    rows = "".join(f"bad{i} at example.org,人{i}\n" for i in range(PROBLEMS_KEPT + 3))
    page = _upload(client, "bad.csv", "email,name\n" + rows)
    job = _job(site.url)
    assert (len(job.problems), job.problems_more, job.skipped) == (PROBLEMS_KEPT, 3, PROBLEMS_KEPT + 3)
    assert len(re.findall(r'<tr class="subs-problem error"', page.text)) == PROBLEMS_KEPT
    assert "另有 3 个问题未列出。" in page.text


def _bearer(site, staff=ZHOU_ADMIN) -> dict:
    add_staff(site.url, staff)
    return {"Authorization": f"Bearer {api_token(site.url, staff)}", "Content-Type": "text/csv"}


def test_the_api_answers_202_with_the_imports_url_and_its_state_there(site):
    headers = _bearer(site)
    text = "email,name,regions,status\na@example.org,甲,湖南,\nb@example.org,乙,火星,\nc@example.org,丙,全国,pending\n"
    posted = site.client.post(
        "/api/v1/subscribers/imports?list=rural-weekly&confirmed=false&name=people.csv",
        content=text.encode(),
        headers=headers,
    )
    assert posted.status_code == 202, posted.text
    body = posted.json()
    assert posted.headers["location"] == body["url"] == f"/api/v1/subscribers/imports/{body['id']}"
    state = site.client.get(body["url"], headers=headers).json()
    assert (state["status"], state["rows_done"], state["added"], state["skipped"]) == ("done", 3, 2, 1)
    assert [(p["line"], p["field"], p["code"]) for p in state["problems"]] == [(3, "regions", "region_unknown")]
    with transaction(site.url) as session:
        statuses = dict(
            session.execute(select(models.Subscriber.email, models.Subscription.status).join(models.Subscription)).all()
        )
    assert statuses == {"a@example.org": "pending", "c@example.org": "pending"}
    assert site.client.get("/api/v1/subscribers/imports/999999", headers=headers).status_code == 404


def test_the_api_refuses_what_is_not_csv_text_and_editors(site):
    headers = _bearer(site)
    for data, status in ((b"", 422), (b"email\n\xff\n", 422), (b"email\n\x00\n", 422)):
        answer = site.client.post("/api/v1/subscribers/imports", content=data, headers=headers)
        assert answer.status_code == status and answer.json()["detail"][0]["loc"] == ["body"], answer.text
    editor = _bearer(site, SUN_EDITOR)
    assert site.client.post("/api/v1/subscribers/imports", content=b"email\n", headers=editor).status_code == 403
    with transaction(site.url) as session:
        assert session.scalars(select(models.SubscriberImport.id)).all() == []


def test_a_task_delivered_again_after_its_import_is_done_changes_nothing(site):
    with transaction(site.url) as session:
        import_id = queue_import(
            session,
            ensure_default_list(session),
            started_by="someone@example.org",
            file_name="again.csv",
            text="email,name\nonce@example.org,甲\n",
            default_status="confirmed",
        )
    runtime = Runtime(site.settings)
    first = run_import(runtime, import_id)
    assert first is not None and first.added == 1
    finished = _job(site.url).finished_at
    assert run_import(runtime, import_id) is None  # as a redelivered `digest.import_subscribers` would
    job = _job(site.url)
    assert (job.status, job.added, job.finished_at) == ("done", 1, finished)
