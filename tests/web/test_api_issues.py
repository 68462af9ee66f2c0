"""/api/v1/issues: plan, list, steer, log, preview, test send; malformed input is 4xx naming the field
(SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from personas import ALL, LI_HUNAN, SUN_EDITOR, ZHAO_NOTHING, ZHOU_ADMIN, subscribe_confirmed
from sqlalchemy import func, select
from webutil import add_staff, api_token, parse_mail

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.adapters.transports import open_transport
from digest.core.regions import load_regions
from digest.core.statuses import DeliveryStatus, IssueStatus
from digest.services.delivery.batches import send_pending
from digest.services.delivery.now import background_send
from digest.services.enqueue import enqueue_deliveries
from digest.services.issues import start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime

REGIONS = load_regions()


@pytest.fixture
def api(site):
    add_staff(site.url, SUN_EDITOR)  # an editor: issues are hers too
    site.client.headers["Authorization"] = f"Bearer {api_token(site.url, SUN_EDITOR)}"
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        subscribe_confirmed(session, ml, REGIONS)
    return site


def _plan(client, day="2026-11-22") -> dict:
    response = client.post("/api/v1/issues", json={"period_end": day})
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_without_a_token_nothing_answers(site):
    assert site.client.get("/api/v1/issues").status_code == 401
    assert site.client.post("/api/v1/issues", json={"period_end": "2026-11-22"}).status_code == 401


def test_plan_list_and_read_issues(api):
    client = api.client
    created = client.post("/api/v1/issues", json={"period_end": "2026-11-22", "list": "rural-weekly"})
    assert created.status_code == 201
    issue = created.json()
    assert (issue["number"], issue["period_start"], issue["status"], issue["counts"]) == (
        1,
        "2026-11-16",
        "planned",
        {},
    )
    again = client.post("/api/v1/issues", json={"period_end": "2026-11-22"})
    assert again.status_code == 200 and again.json()["id"] == issue["id"]
    second = _plan(client, "2026-11-29")
    page = client.get("/api/v1/issues").json()
    assert page["total"] == 2 and [i["number"] for i in page["items"]] == [2, 1]  # newest first
    client.post(f"/api/v1/issues/{second['id']}/pause")
    paused = client.get("/api/v1/issues", params={"status": "paused"}).json()
    assert [i["id"] for i in paused["items"]] == [second["id"]]
    for path, allowed in (
        ("/api/v1/issues", IssueStatus),
        (f"/api/v1/issues/{issue['id']}/deliveries", DeliveryStatus),
    ):
        lost = client.get(path, params={"status": "lost"})
        problem = lost.json()["detail"][0]
        assert lost.status_code == 422 and problem["loc"] == ["query", "status"], path
        assert all(f"'{s}'" in problem["msg"] for s in allowed), problem  # the allowed values, as clients write them
    assert client.get("/api/v1/issues", params={"limit": 1, "offset": 1}).json()["items"][0]["number"] == 1
    assert client.get(f"/api/v1/issues/{issue['id']}").json()["period_end"] == "2026-11-22"
    assert client.get("/api/v1/issues/999").status_code == 404
    assert client.get("/api/v1/issues", params={"list": "nope"}).status_code == 404


def test_pause_resume_cancel_and_409_with_the_reason(api):
    client = api.client
    issue_id = _plan(client)["id"]
    with transaction(api.url) as session:
        enqueue_deliveries(session, session.get(models.Issue, issue_id))
    assert client.post(f"/api/v1/issues/{issue_id}/pause").json()["status"] == "paused"
    wrong = client.post(f"/api/v1/issues/{issue_id}/pause")
    assert (
        wrong.status_code == 409
        and wrong.json()["detail"] == "issue 1 is paused: only a planned or sending issue pauses"
    )
    assert client.post(f"/api/v1/issues/{issue_id}/resume").json()["status"] == "sending"
    cancelled = client.post(f"/api/v1/issues/{issue_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["counts"] == {"skipped": 6}
    again = client.post(f"/api/v1/issues/{issue_id}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    assert client.post(f"/api/v1/issues/{issue_id}/resume").status_code == 409
    with transaction(api.url) as session:
        assert session.get(models.Issue, issue_id).status == "cancelled"


def test_the_delivery_log_filters_and_pages(api):
    client = api.client
    issue_id = _plan(client)["id"]
    with transaction(api.url) as session:
        enqueue_deliveries(session, session.get(models.Issue, issue_id))
        row = session.scalar(
            select(models.Delivery).join(models.Subscriber).where(models.Subscriber.email == LI_HUNAN.email)
        )
        row.status, row.attempts, row.last_error = "failed", 5, "550 5.1.1 no such user"
        row_id = row.id
    log = client.get(f"/api/v1/issues/{issue_id}/deliveries").json()
    assert log["total"] == 6 and {d["email"] for d in log["items"]} == {p.email for p in ALL}
    failed = client.get(f"/api/v1/issues/{issue_id}/deliveries", params={"status": "failed"}).json()
    assert failed["total"] == 1
    assert failed["items"][0] | {"sent_at": None} == {
        "id": row_id,
        "email": LI_HUNAN.email,
        "name": "李伟",
        "status": "failed",
        "attempts": 5,
        "articles": 0,
        "reason": None,
        "reason_code": None,
        "reason_params": {},
        "last_error": "550 5.1.1 no such user",
        "sent_at": None,
        "message_id": None,
    }
    paged = client.get(f"/api/v1/issues/{issue_id}/deliveries", params={"limit": 4, "offset": 4}).json()
    assert len(paged["items"]) == 2 and paged["total"] == 6 and paged["next_after"] is None
    first = client.get(f"/api/v1/issues/{issue_id}/deliveries", params={"limit": 4}).json()
    assert first["next_after"] == first["items"][-1]["id"]
    after = client.get(f"/api/v1/issues/{issue_id}/deliveries", params={"limit": 4, "after": first["next_after"]})
    assert after.json()["items"] == paged["items"] and after.json()["next_after"] is None


def test_a_preview_lists_the_articles_in_and_out_with_reasons(api):
    client = api.client
    issue_id = _plan(client)["id"]
    preview = client.get(f"/api/v1/issues/{issue_id}/preview", params={"email": LI_HUNAN.email}).json()
    assert preview["article_count"] == 3 and preview["skip"] is None
    assert preview["subject"] == "沅陵县创办全国首家乡村振兴金融服务组织 等3篇 · 第1期"
    assert [a["title"] for a in preview["included"]] == [
        "沅陵县创办全国首家乡村振兴金融服务组织",
        "金银花产业带动山区农户增收",
        "指导农村改厕工作 打造群众满意工程",
    ]
    assert preview["included"][0]["reason"] == "湖南怀化 lies inside picked 湖南"
    assert preview["included"][0]["reason_kind"] == "inside"
    assert len(preview["excluded"]) == 13 and all(a["reason_kind"] == "apart" for a in preview["excluded"])
    nothing = client.get(f"/api/v1/issues/{issue_id}/preview", params={"email": ZHAO_NOTHING.email}).json()
    assert nothing["subject"] is None and nothing["skip"] == "empty" and nothing["included"] == []
    assert client.get(f"/api/v1/issues/{issue_id}/preview", params={"email": "x@example.org"}).status_code == 404


def test_a_test_send_goes_out_and_the_ledger_stays_empty(api):
    client = api.client
    issue_id = _plan(client)["id"]
    response = client.post(f"/api/v1/issues/{issue_id}/test", json={"to": "qa@example.net", "email": LI_HUNAN.email})
    assert response.status_code == 200, response.text
    assert response.json()["article_count"] == 3 and response.json()["subject"].startswith("[测试] ")
    [received] = api.smtp.messages
    msg, text, _ = parse_mail(received.data)
    assert (
        received.rcpt_tos == ["qa@example.net"]
        and msg["Subject"] == "[测试] 沅陵县创办全国首家乡村振兴金融服务组织 等3篇 · 第1期"
    )
    assert "金银花产业带动山区农户增收" in text
    whole = client.post(f"/api/v1/issues/{issue_id}/test", json={"to": "qa@example.net"})
    assert whole.json()["article_count"] == 16
    with transaction(api.url) as session:
        assert session.scalar(select(func.count()).select_from(models.Delivery)) == 0


MALFORMED = [
    ("post", "/api/v1/issues", {"json": {}}, "period_end"),
    ("post", "/api/v1/issues", {"json": {"period_end": "22/11/2026"}}, "period_end"),
    ("post", "/api/v1/issues", {"json": {"period_end": "0001-01-01"}}, "period_end"),
    ("post", "/api/v1/issues", {"json": {"period_end": "9999-12-31"}}, "period_end"),
    ("post", "/api/v1/issues", {"json": {"period_end": 20261122.5}}, "period_end"),
    ("post", "/api/v1/issues", {"json": {"period_end": "2026-11-22", "extra": 1}}, "extra"),
    ("post", "/api/v1/issues", {"json": {"period_end": "2026-11-22", "list": ""}}, "list"),
    ("post", "/api/v1/issues", {"json": {"period_end": "2026-11-22", "list": "x" * 65}}, "list"),
    ("post", "/api/v1/issues", {"json": [1, 2]}, "body"),
    ("post", "/api/v1/issues", {"content": b"{not json", "headers": {"content-type": "application/json"}}, "body"),
    ("get", "/api/v1/issues", {"params": {"status": "bogus"}}, "status"),
    ("get", "/api/v1/issues", {"params": {"limit": 0}}, "limit"),
    ("get", "/api/v1/issues", {"params": {"limit": "abc"}}, "limit"),
    ("get", "/api/v1/issues", {"params": {"offset": -1}}, "offset"),
    ("get", "/api/v1/issues/0", {}, "issue_id"),
    ("get", "/api/v1/issues/abc", {}, "issue_id"),
    ("get", "/api/v1/issues/99999999999", {}, "issue_id"),
    ("post", "/api/v1/issues/abc/pause", {}, "issue_id"),
    ("get", "/api/v1/issues/{id}/deliveries", {"params": {"status": "lost"}}, "status"),
    ("get", "/api/v1/issues/{id}/deliveries", {"params": {"limit": 100000}}, "limit"),
    ("get", "/api/v1/issues/{id}/preview", {}, "email"),
    ("get", "/api/v1/issues/{id}/preview", {"params": {"email": "not an address"}}, "email"),
    ("post", "/api/v1/issues/{id}/test", {"json": {}}, "to"),
    ("post", "/api/v1/issues/{id}/test", {"json": {"to": 12345}}, "to"),
    ("post", "/api/v1/issues/{id}/test", {"json": {"to": "a@b.c\r\nBcc: x@y"}}, "to"),
    ("post", "/api/v1/issues/{id}/test", {"json": {"to": "a@example.org, b@example.org"}}, "to"),
    ("post", "/api/v1/issues/{id}/test", {"json": {"to": "王@例子.中国"}}, "to"),
    ("post", "/api/v1/issues/{id}/test", {"json": {"to": "a@example.org", "email": "nope"}}, "email"),
    ("post", "/api/v1/issues/{id}/test", {"json": {"to": "a@example.org", "cc": "b@example.org"}}, "cc"),
]


def test_malformed_input_answers_4xx_naming_the_field_and_never_5xx(api):
    client = api.client
    issue_id = _plan(client)["id"]
    for method, path, kwargs, field in MALFORMED:
        response = getattr(client, method)(path.replace("{id}", str(issue_id)), **kwargs)
        assert 400 <= response.status_code < 500, (path, kwargs, response.status_code, response.text)
        assert field in response.text, (path, kwargs, response.text)
    assert api.smtp.messages == []
    with transaction(api.url) as session:
        assert session.scalar(select(func.count()).select_from(models.Issue)) == 1


def _name(url, persona, name):
    # Stored as an old import or a direct edit might have left it: the API would refuse it.
    with transaction(url) as session:
        session.scalar(select(models.Subscriber).where(models.Subscriber.email == persona.email)).name = name


def test_an_admin_sends_failed_deliveries_again_once_and_bad_input_names_the_field(api):
    client = api.client
    _name(api.url, LI_HUNAN, "李\nBcc: everyone@example.org")
    issue_id = _plan(client)["id"]
    with transaction(api.url) as session:
        start_issue(session, session.get(models.Issue, issue_id))
    with open_transport(api.settings.smtp_url, api.settings.outbox) as transport:
        send_pending(Runtime(api.settings), issue_id, transport)
    assert client.get(f"/api/v1/issues/{issue_id}").json()["counts"]["failed"] == 1
    assert LI_HUNAN.email not in {r for m in api.smtp.messages for r in m.rcpt_tos}

    refused = client.post(f"/api/v1/issues/{issue_id}/retry", json={"status": "failed"})
    assert refused.status_code == 403  # an editor's token
    add_staff(api.url, ZHOU_ADMIN)
    client.headers["Authorization"] = f"Bearer {api_token(api.url, ZHOU_ADMIN)}"
    for body, field in (
        ({"status": "sent"}, ["body", "status"]),
        ({"status": "failed", "also": 1}, ["body", "also"]),
        ({"status": ["failed"]}, ["body", "status"]),
    ):
        bad = client.post(f"/api/v1/issues/{issue_id}/retry", json=body)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == field, body
    assert client.post("/api/v1/issues/999/retry", json={}).status_code == 404

    _name(api.url, LI_HUNAN, LI_HUNAN.name)
    done = client.post(f"/api/v1/issues/{issue_id}/retry", json={"status": "failed"})
    assert done.status_code == 200, done.text
    assert (done.json()["reset"], done.json()["left_suppressed"], done.json()["sending"]) == (1, 0, "background")
    thread = background_send(issue_id)
    if thread is not None:
        thread.join(30)
    received = sorted(r for m in api.smtp.messages for r in m.rcpt_tos)
    assert received == sorted(p.email for p in ALL if p != ZHAO_NOTHING)  # 李伟 once, nobody twice
    issue = client.get(f"/api/v1/issues/{issue_id}").json()
    assert issue["status"] == "sent" and "failed" not in issue["counts"]
    again = client.post(f"/api/v1/issues/{issue_id}/retry", json={})  # status defaults to failed
    assert again.status_code == 200 and (again.json()["reset"], again.json()["sending"]) == (0, "none")
    assert len(api.smtp.messages) == len(ALL) - 1

    with transaction(api.url) as session:
        session.get(models.Issue, issue_id).status = "cancelled"
    cancelled = client.post(f"/api/v1/issues/{issue_id}/retry", json={"status": "failed"})
    assert cancelled.status_code == 409 and "cancelled" in cancelled.json()["detail"]


def test_a_test_send_with_an_unreadable_dkim_key_says_so_and_sends_nothing(api, tmp_path):
    import dataclasses

    from digest.core.bounces.settings import LoopSettings

    runtime = api.client.app.state.web.runtime
    missing = tmp_path / "no-such-key.pem"
    loop = LoopSettings(dkim_selector="s1", dkim_domain="example.org", dkim_key_file=missing)
    runtime.settings = dataclasses.replace(runtime.settings, loop=loop)
    issue_id = _plan(api.client)["id"]
    response = api.client.post(f"/api/v1/issues/{issue_id}/test", json={"to": "qa@example.net"})
    assert response.status_code == 503
    assert "DIGEST_DKIM_KEY_FILE" in response.json()["detail"] and str(missing) in response.json()["detail"]
    assert api.smtp.messages == []
