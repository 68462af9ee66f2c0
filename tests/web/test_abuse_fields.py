"""Single-line fields refuse line breaks, NUL, other C0/C1 controls and bidi controls, naming the field;
a time zone must be a real IANA place, not the host's `localtime`; names subscribers type lose their bidi
controls. On the API and the console form alike (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from personas import LI_HUNAN, ZHOU_ADMIN
from sqlalchemy import select
from test_admin_lists import SETTINGS, _form
from test_admin_lists import _state as _console_state
from test_api_lists import URL, _auth, _state
from test_api_subscribers import API as SUBSCRIBERS
from test_api_subscribers import _people
from test_pages import SUBSCRIBE, _add, _subscribe
from webutil import LIST, add_staff, csrf_from, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.schedule import zone
from digest.core.tokens import sign_token

BAD_CHARACTERS = ["\n", "\r", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u202a", "\u2066", "\u2069"]
LINE_FIELDS = {
    "name": "乡村振兴周报",
    "sender_name": "乡村振兴周报",
    "sender_email": "weekly@digest.example.org",
    "reply_to": "editors@digest.example.org",
    "masthead": "乡村振兴周报",
    "tagline": "每周要闻",
    "contact_email": "info@example.org",
    "postal_address": "北京市海淀区示例路 1 号",
}
NOT_PLACES = ["localtime", "posixrules", "Factory", "/etc/localtime", "../../etc/localtime", "Asia/../UTC"]


def _poisoned(value: str, bad: str) -> str:
    """The bad character inside the value, where strip() cannot take it away."""
    middle = len(value) // 2
    return value[:middle] + bad + value[middle:]


def test_the_api_refuses_control_characters_in_every_line_field_naming_it(site):
    headers = _auth(site, ZHOU_ADMIN)
    before = _state(site.url)
    for field, value in LINE_FIELDS.items():
        for bad in BAD_CHARACTERS:
            response = site.client.patch(URL, headers=headers, json={field: _poisoned(value, bad)})
            # A NUL never gets past the door (web/guard.py): 400, in the same shape, naming the field.
            assert response.status_code == (400 if bad == "\x00" else 422), (field, repr(bad), response.text)
            assert [d["loc"] for d in response.json()["detail"]] == [["body", field]], response.text
    credits = site.client.patch(URL, headers=headers, json={"credits": [{"label": "制\n作", "value": "x"}]})
    assert credits.status_code == 422 and ["body", "credits"] in [d["loc"] for d in credits.json()["detail"]]
    topics = site.client.get(URL, headers=headers).json()["topics"]
    renamed = [{"slug": t["slug"], "name": t["name"] + ("\u202e" if i == 0 else "")} for i, t in enumerate(topics)]
    response = site.client.patch(URL, headers=headers, json={"topics": renamed})
    assert response.status_code == 422 and ["body", "topics"] in [d["loc"] for d in response.json()["detail"]]
    assert _state(site.url) == before
    # Ordinary text still saves, and every public page still answers.
    assert site.client.patch(URL, headers=headers, json={"name": "乡村振兴 周报"}).status_code == 200
    assert site.client.get(SUBSCRIBE).status_code == 200


def test_the_api_refuses_a_time_zone_that_is_no_place(site):
    headers = _auth(site, ZHOU_ADMIN)
    before = _state(site.url)
    for name in NOT_PLACES:
        response = site.client.patch(URL, headers=headers, json={"time_zone": name})
        assert response.status_code == 422, (name, response.text)
        assert ["body", "time_zone"] in [d["loc"] for d in response.json()["detail"]]
    assert _state(site.url) == before
    assert site.client.patch(URL, headers=headers, json={"time_zone": "Europe/Berlin"}).status_code == 200


def test_the_console_form_refuses_control_characters_and_no_place_zones_naming_the_field(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    before = _console_state(site.url)
    cases = [(field, _poisoned(value, bad)) for field, value in LINE_FIELDS.items() for bad in ("\n", "\x00", "\u202e")]
    cases += [("time_zone", name) for name in NOT_PLACES]
    for field, value in cases:
        form = _form(site.client)
        form[field] = value
        page = site.client.post(SETTINGS, data=form, follow_redirects=False)
        assert page.status_code == 400, (field, repr(value))
        # A NUL is refused at the door, naming the parameter; the rest by the form, beside the field.
        named = f"'{field}'" if "\x00" in value else f'id="error-{field}"'
        assert named in page.text, (field, repr(value))
    assert _console_state(site.url) == before


@pytest.mark.parametrize("name", NOT_PLACES)
def test_zone_accepts_only_iana_places(name):
    with pytest.raises(ValueError):
        zone(name)
    assert zone("Asia/Shanghai").key == "Asia/Shanghai" and zone("UTC").key == "UTC"


def test_a_subscribers_name_loses_its_bidi_and_control_characters(site):
    response = _subscribe(site.new_client(), "reader@example.org", name="\u202egnp.exe\u202c 王\x07芳\u2066")
    assert response.status_code == 200
    assert _name(site.url, "reader@example.org") == "gnp.exe 王 芳"
    # Confirmed and back on the preferences page: the same cleaning.
    subscriber_id = _add(site.url, "reader@example.org")
    path = "/p/" + sign_token(site.settings.secret_key, "preferences", subscriber_id, LIST)
    page = site.client.get(path)
    form = {"action": "save", "name": "\u202e李\u2067伟\r\n", "region": ["000000"], "csrf_token": csrf_from(page.text)}
    assert site.client.post(path, data=form, follow_redirects=False).status_code == 303
    assert _name(site.url, "reader@example.org") == "李伟"


def _name(url: str, address: str) -> str:
    with transaction(url) as session:
        return session.scalar(select(models.Subscriber.name).where(models.Subscriber.email == address))


def test_the_subscriber_api_strips_bidi_from_names_and_refuses_a_no_place_zone(site):
    sid = _people(site.url, [LI_HUNAN])[LI_HUNAN.email]
    admin = _auth(site, ZHOU_ADMIN)
    patched = site.client.patch(f"{SUBSCRIBERS}/{sid}", headers=admin, json={"name": "\u202e李\x07伟\u2069"})
    assert patched.status_code == 200 and _name(site.url, LI_HUNAN.email) == "李 伟"
    refused = site.client.patch(f"{SUBSCRIBERS}/{sid}", headers=admin, json={"time_zone": "localtime"})
    assert refused.status_code == 422 and "time_zone" in str(refused.json()["detail"])
