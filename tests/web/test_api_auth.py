"""The JSON API's door: bearer tokens, JSON errors, and a schema that shows the API only."""

from __future__ import annotations

from personas import ZHOU_ADMIN
from webutil import add_staff, api_token

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.admins import revoke_api_token


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
