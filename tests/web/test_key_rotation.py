"""DIGEST_OLD_SECRET_KEYS: after DIGEST_SECRET_KEY changes, the links already mailed keep working."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient
from webutil import LIST

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.tokens import read_token, sign_token
from digest.services.subscribers import upsert_subscription
from digest.web import create_app

NEW_KEY = "the-new-secret-key-0123456789abcdefgh"


def _subscriber(url: str, address: str) -> int:
    from digest.core.regions import load_regions
    from digest.services.lists import ensure_default_list

    with transaction(url) as session:
        sub, _, _ = upsert_subscription(
            session, ensure_default_list(session), load_regions(), email=address, region_labels=["全国"]
        )
        return sub.subscriber_id


def test_links_signed_with_an_old_key_still_work_and_new_ones_use_the_new_key(site):
    old_key = site.settings.secret_key
    leaving = _subscriber(site.url, "leaving@example.org")
    mailed = "/u/" + sign_token(old_key, "unsubscribe", leaving, LIST)
    rotated = dataclasses.replace(site.settings, secret_key=NEW_KEY, old_secret_keys=(old_key,))
    with TestClient(create_app(rotated)) as client:
        response = client.post(mailed, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
        assert response.status_code == 200
        with transaction(site.url) as session:
            assert session.query(models.Subscription).one().status == "unsubscribed"
        # A key nobody listed is still refused.
        forged = "/p/" + sign_token("some-other-secret-key-0123456789abc", "preferences", leaving, LIST)
        assert client.get(forged).status_code == 400
        # The preferences page signs its own links with the new key.
        page = client.get("/p/" + sign_token(old_key, "preferences", leaving, LIST))
        assert page.status_code == 200


def test_the_new_key_signs_and_every_listed_key_verifies():
    keys = ("old-one-0123456789abcdef0123456789", "old-two-0123456789abcdef0123456789", NEW_KEY)
    for key in keys:
        assert read_token(keys, sign_token(key, "preferences", 7, LIST), "preferences").subscriber_id == 7
    assert read_token(NEW_KEY, sign_token(keys, "preferences", 7, LIST), "preferences").subscriber_id == 7
