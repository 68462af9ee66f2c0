"""Test sends are limited per staff member, console and API counting together: ten a minute, then 429 with
Retry-After and no mail (SQLite and PostgreSQL, a real SMTP server)."""

from __future__ import annotations

from personas import LI_HUNAN, SUN_EDITOR, ZHOU_ADMIN
from test_admin_issues import _people
from webutil import add_staff, api_token, form_csrf, sign_in

TO = "qa@example.net"


def _plan(client, headers) -> int:
    response = client.post("/api/v1/issues", json={"period_end": "2026-11-22"}, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


def _api_send(client, headers, issue_id):
    return client.post(f"/api/v1/issues/{issue_id}/test", json={"to": TO, "email": LI_HUNAN.email}, headers=headers)


def test_the_api_refuses_the_eleventh_test_send_of_a_minute(site):
    _people(site.url, [LI_HUNAN])
    add_staff(site.url, SUN_EDITOR)
    headers = {"Authorization": f"Bearer {api_token(site.url, SUN_EDITOR)}"}
    issue_id = _plan(site.client, headers)
    statuses = [_api_send(site.client, headers, issue_id).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    refused = _api_send(site.client, headers, issue_id)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert len(site.smtp.messages) == 10


def test_console_and_api_share_one_count_per_staff_member(site):
    _people(site.url, [LI_HUNAN])
    add_staff(site.url, SUN_EDITOR)
    add_staff(site.url, ZHOU_ADMIN)
    headers = {"Authorization": f"Bearer {api_token(site.url, SUN_EDITOR)}"}
    issue_id = _plan(site.client, headers)
    console = site.new_client()
    sign_in(console, SUN_EDITOR)
    page = f"/admin/issues/{issue_id}/preview?email={LI_HUNAN.email}"
    action = f"/admin/issues/{issue_id}/test"
    token = form_csrf(console.get(page).text, action)
    for _ in range(6):
        sent = console.post(action, data={"csrf_token": token, "to": TO, "email": LI_HUNAN.email})
        assert sent.status_code == 200, sent.text[:300]
    assert [_api_send(site.client, headers, issue_id).status_code for _ in range(5)] == [200] * 4 + [429]
    refused = console.post(action, data={"csrf_token": token, "to": TO, "email": LI_HUNAN.email})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert len(site.smtp.messages) == 10
    # Another staff member has a count of their own.
    other = {"Authorization": f"Bearer {api_token(site.url, ZHOU_ADMIN)}"}
    assert _api_send(site.client, other, issue_id).status_code == 200
    assert len(site.smtp.messages) == 11
