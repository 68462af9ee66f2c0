"""The JSON API's door: bearer tokens, JSON errors, and a schema that shows the API only."""

from __future__ import annotations

from datetime import timedelta

from personas import ZHOU_ADMIN
from webutil import add_staff, api_token

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.clock import wall_now
from digest.services.admins import create_api_token, get_admin, revoke_api_token, set_disabled


def test_the_schema_describes_the_json_api_and_no_html_page(site):
    schema = site.client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert all(path.startswith("/api/v1/") for path in schema["paths"]), sorted(schema["paths"])


def test_calls_without_a_valid_token_get_401_in_json(site):
    add_staff(site.url, ZHOU_ADMIN)
    token = api_token(site.url, ZHOU_ADMIN)
    for headers in ({}, {"Authorization": "Bearer dgt_forged"}, {"Authorization": token}):
        response = site.client.get("/api/v1/lists", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == "application/json"
        assert response.headers["www-authenticate"] == "Bearer"
    with transaction(site.url) as session:
        row = session.query(models.ApiToken).one()
        assert token not in row.token_hash
        revoke_api_token(session, row.id)
    assert site.client.get("/api/v1/lists", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_valid_token_reads_the_lists(site):
    add_staff(site.url, ZHOU_ADMIN)
    token = api_token(site.url, ZHOU_ADMIN)
    [listed] = site.client.get("/api/v1/lists", headers={"Authorization": f"Bearer {token}"}).json()
    assert listed["slug"] == "rural-weekly"
    assert [t["name"] for t in listed["topics"]][:3] == ["宏观形势", "脱贫攻坚", "产业发展"]


def _token(url: str, staff, **options) -> str:
    with transaction(url) as session:
        return create_api_token(session, get_admin(session, staff.email), "tests", **options)


def test_an_expired_token_gets_401_and_a_fresh_one_works(site):
    add_staff(site.url, ZHOU_ADMIN)
    # Made 91 days ago for 90 days: expired yesterday, whatever today is.
    expired = _token(site.url, ZHOU_ADMIN, days=90, now=wall_now() - timedelta(days=91))
    fresh = _token(site.url, ZHOU_ADMIN, days=90, now=wall_now() - timedelta(days=89))
    response = site.client.get("/api/v1/lists", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert site.client.get("/api/v1/lists", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_tokens_expire_in_90_days_unless_made_otherwise(site):
    add_staff(site.url, ZHOU_ADMIN)
    made = wall_now()
    _token(site.url, ZHOU_ADMIN, now=made)
    _token(site.url, ZHOU_ADMIN, days=None, now=made)
    with transaction(site.url) as session:
        default, never = session.query(models.ApiToken).order_by(models.ApiToken.id).all()
        assert default.expires_at == made + timedelta(days=90) and default.scope == "write"
        assert never.expires_at is None


def test_a_read_token_reads_and_is_refused_every_change_with_403(site):
    add_staff(site.url, ZHOU_ADMIN)
    read = {"Authorization": f"Bearer {_token(site.url, ZHOU_ADMIN, scope='read')}"}
    write = {"Authorization": f"Bearer {_token(site.url, ZHOU_ADMIN)}"}
    assert site.client.get("/api/v1/lists", headers=read).status_code == 200
    for method, path, body in (
        ("PATCH", "/api/v1/lists/rural-weekly", {"name": "Renamed"}),
        ("POST", "/api/v1/issues/1/pause", None),
        ("DELETE", "/api/v1/articles/1", None),
    ):
        response = site.client.request(method, path, headers=read, json=body)
        assert response.status_code == 403, (method, path)
        assert "read" in response.json()["detail"]
    renamed = site.client.patch("/api/v1/lists/rural-weekly", headers=write, json={"name": "Renamed"})
    assert renamed.status_code == 200
    with transaction(site.url) as session:
        assert session.query(models.MailingList).one().name == "Renamed"


def test_a_disabled_admins_token_gets_401(site):
    add_staff(site.url, ZHOU_ADMIN)
    headers = {"Authorization": f"Bearer {_token(site.url, ZHOU_ADMIN)}"}
    with transaction(site.url) as session:
        set_disabled(session, get_admin(session, ZHOU_ADMIN.email), True)
    assert site.client.get("/api/v1/lists", headers=headers).status_code == 401
