"""/api/v1/suppressions (with what put each address there and the event that decided) and /api/v1/sender (the
sender page's figures): admin tokens only, on both databases."""

from __future__ import annotations

from personas import SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import func, select
from test_sender_page import sender_rows
from webutil import add_staff, api_token

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction

SUPPRESSIONS = "/api/v1/suppressions"


def _auth(site, staff=ZHOU_ADMIN) -> dict[str, str]:
    add_staff(site.url, staff)
    return {"Authorization": f"Bearer {api_token(site.url, staff)}"}


def _suppressed(url: str) -> list[str]:
    with transaction(url) as session:
        return list(session.scalars(select(models.Suppression.email).order_by(models.Suppression.email)))


def test_suppress_list_and_undo_by_address(site):
    ids = sender_rows(site.url)
    admin = _auth(site)
    added = site.client.post(SUPPRESSIONS, headers=admin, json={"email": "Asked@Example.ORG", "reason": "by phone"})
    assert added.status_code == 201
    body = added.json()
    assert (body["email"], body["reason"], body["kind"], body["event"]) == (
        "Asked@example.org",
        "by phone",
        "admin",
        None,
    )
    listed = site.client.get(SUPPRESSIONS, headers=admin, params={"q": "gone", "limit": 5}).json()
    assert (listed["total"], listed["limit"], listed["offset"]) == (1, 5, 0)
    (gone,) = listed["items"]
    assert (gone["email"], gone["kind"], gone["reason"]) == ("gone@example.org", "hard_bounce", "hard bounce 5.1.1")
    event = gone["event"]
    assert (event["id"], event["kind"], event["source"], event["status"]) == (
        ids["event"],
        "hard_bounce",
        "postmark",
        "5.1.1",
    )
    assert event["detail"] == "<i>mailbox unknown</i>"  # JSON carries it as it came; pages escape it
    assert _suppressed(site.url) == ["Asked@example.org", "gone@example.org"]
    undone = site.client.delete(f"{SUPPRESSIONS}/asked@example.org", headers=admin)  # the address as typed
    assert undone.status_code == 204 and _suppressed(site.url) == ["gone@example.org"]
    missing = site.client.delete(f"{SUPPRESSIONS}/asked@example.org", headers=admin)
    assert missing.status_code == 404 and missing.json()["detail"] == "no such suppression"
    assert site.client.delete(f"{SUPPRESSIONS}/nobody", headers=admin).status_code == 404
    assert site.client.delete(f"{SUPPRESSIONS}/{ids['suppression']}", headers=admin).status_code == 204  # by id
    assert _suppressed(site.url) == []
    assert site.client.delete(f"{SUPPRESSIONS}/{2**40}", headers=admin).status_code == 422
    assert site.client.delete(f"{SUPPRESSIONS}/{'x' * 321}", headers=admin).status_code == 422


def test_the_sender_figures_as_json(site):
    ids = sender_rows(site.url)
    admin = _auth(site)
    response = site.client.get("/api/v1/sender", headers=admin)
    assert response.status_code == 200
    report = response.json()
    (issue,) = report["issues"]
    assert (issue["issue_id"], issue["list"], issue["number"], issue["period_end"]) == (
        ids["issue"],
        "rural-weekly",
        7,
        "2026-11-15",
    )
    assert issue["figures"] == {
        "sent": 100,
        "refused": 3,
        "hard_bounces": 1,
        "soft_bounces": 0,
        "complaints": 1,
        "unsubscribes": 0,
        "auto_replies": 0,
        "bounces": 4,
        "bounce_rate": 0.04,
        "complaint_rate": 0.01,
        "bounce_over_warning": True,
        "complaint_over_target": True,
        "complaint_over_limit": True,
    }
    assert report["thresholds"] == {
        "complaint_rate_target": 0.001,
        "complaint_rate_limit": 0.003,
        "bounce_rate_warning": 0.02,
    }
    assert report["time_zone"] == "UTC" and len(report["weeks"]) == 12
    assert report["weeks"][0]["week"] == "2026-W48" and report["weeks"][0]["figures"] == issue["figures"]
    assert report["weeks"][1]["figures"]["sent"] == 0 and report["weeks"][1]["figures"]["bounce_rate"] is None
    assert report["unparsed_mail"] == 1
    sources = {s["name"]: s for s in report["sources"]}
    assert (sources["mailbox"]["mailbox"], sources["mailbox"]["stale"], sources["mailbox"]["runs"]) == (True, True, 5)
    assert (sources["ses"]["mailbox"], sources["ses"]["erroring"], sources["ses"]["stale"]) == (False, True, False)
    one_list = site.client.get("/api/v1/sender", headers=admin, params={"list": "rural-weekly", "issues": 1}).json()
    assert one_list["time_zone"] == "Asia/Shanghai" and len(one_list["issues"]) == 1
    assert site.client.get("/api/v1/sender", headers=admin, params={"list": "nope"}).status_code == 404
    assert site.client.get("/api/v1/sender", headers=admin, params={"issues": 0}).status_code == 422


def test_a_token_is_needed_and_an_editors_is_refused(site):
    sender_rows(site.url)
    editor = _auth(site, SUN_EDITOR)
    calls = [
        ("get", "/api/v1/sender", None),
        ("get", SUPPRESSIONS, None),
        ("post", SUPPRESSIONS, {"email": "a@example.org", "reason": "x"}),
        ("delete", f"{SUPPRESSIONS}/gone@example.org", None),
    ]
    for method, path, body in calls:
        assert site.client.request(method, path, json=body).status_code == 401, (method, path)
        refused = site.client.request(method, path, headers=editor, json=body)
        assert refused.status_code == 403 and refused.json()["detail"].endswith("admins only"), (method, path)
    with transaction(site.url) as session:
        assert session.scalar(select(func.count()).select_from(models.Suppression)) == 1


def test_the_schema_documents_the_new_endpoints(site):
    schema = site.client.get("/openapi.json").json()
    assert {"get", "post", "delete"} <= set(schema["paths"]["/api/v1/suppressions"])
    assert "delete" in schema["paths"]["/api/v1/suppressions/{key}"]
    assert "get" in schema["paths"]["/api/v1/sender"]
    out = schema["components"]["schemas"]["SuppressionOut"]["properties"]
    assert {"kind", "event", "email", "reason", "created_at"} <= set(out)
