"""The console's form to add one subscriber: picks from the region picker, confirmed or sent the confirmation mail
(bytes on the loopback SMTP server), an address already on the list linked, a suppressed one refused; admins only."""

from __future__ import annotations

from personas import LI_HUNAN, SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import select
from webutil import add_staff, confirm, form_csrf, form_fields, link_in, parse_mail, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.list_editing import create_list
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription
from digest.services.suppressions import add_suppression

NEW = "/admin/subscribers/new"
REGIONS = load_regions()


def _admin(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    return site.client


def _form(client, **values) -> dict:
    """The form as the page offers it, then filled in as an admin would."""
    page = client.get(NEW)
    assert page.status_code == 200, page.text
    fields = form_fields(page.text, NEW)
    fields.update(values)
    return fields


def _stored(url, email: str) -> dict | None:
    """The subscriber `email` names and their one subscription, as stored; None if there is none."""
    with transaction(url) as session:
        person = session.scalar(select(models.Subscriber).where(models.Subscriber.email == email))
        sub = person and session.scalar(select(models.Subscription).filter_by(subscriber_id=person.id))
        if sub is None:
            return None
        stored = {"id": person.id, "status": sub.status, "regions": sorted(sub.region_codes or ())}
        return stored | {"topics": sub.topic_slugs, "name": person.name, "zone": (person.locale, person.time_zone)}


def test_the_page_offers_the_region_picker_the_topics_and_both_ways_in(site):
    client = _admin(site)
    page = client.get(NEW)
    assert page.status_code == 200
    assert 'id="regions"' in page.text and 'value="430000"' in page.text  # the picker's tree (湖南)
    assert 'name="topic" value="industry"' in page.text and 'name="mode" value="confirmed"' in page.text
    assert "发送确认邮件" in page.text and "Send a confirmation mail" in client.get(NEW + "?lang=en").text
    assert 'href="/admin/subscribers/new?list=rural-weekly" aria-current="page"' in page.text  # its tab


def test_an_added_subscriber_is_sent_the_confirmation_mail_and_confirms_from_it(site):
    client = _admin(site)
    form = _form(client, email="Ma.Lin@Example.cn", name="马林", region=["430000", "000000"], topic=["industry"])
    form.update(locale="en", time_zone="Europe/Berlin", mode="mail")
    response = client.post(NEW, data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    stored = _stored(site.url, "Ma.Lin@example.cn")
    assert stored is not None
    assert stored["status"] == "pending" and stored["name"] == "马林"
    assert stored["regions"] == ["000000", "430000"] and stored["topics"] == ["industry"]
    assert stored["zone"] == ("en", "Europe/Berlin")
    assert response.headers["location"] == f"/admin/subscribers/{stored['id']}?list=rural-weekly&added=mailed"
    [received] = site.smtp.messages
    assert received.rcpt_tos == ["Ma.Lin@example.cn"]
    message, text, _ = parse_mail(received.data)
    assert message["To"].addresses[0].addr_spec == "Ma.Lin@example.cn"
    assert confirm(site.new_client(), link_in(text, "/confirm/")).status_code == 200
    assert _stored(site.url, "Ma.Lin@example.cn")["status"] == "confirmed"
    page = client.get(response.headers["location"])
    assert "确认邮件已发出" in page.text


def test_a_confirmed_subscriber_is_added_without_any_mail(site):
    client = _admin(site)
    form = _form(client, email="gao.yu@example.cn", mode="confirmed")
    response = client.post(NEW + "?lang=en", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith("&added=confirmed&lang=en")
    stored = _stored(site.url, "gao.yu@example.cn")
    assert stored["status"] == "confirmed" and stored["regions"] == ["000000"]  # the picker's 全国, as offered
    assert site.smtp.messages == []
    assert "Added as confirmed" in client.get(response.headers["location"]).text


def test_an_address_already_on_the_list_is_named_and_linked_and_nothing_changes(site):
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        upsert_subscription(
            session, ml, REGIONS, email=LI_HUNAN.email, name=LI_HUNAN.name, region_labels=LI_HUNAN.regions
        )
    before = _stored(site.url, LI_HUNAN.email)
    client = _admin(site)
    form = _form(client, email="li.wei@EXAMPLE.CN", name="别人")  # a domain's case is not the address's
    page = client.post(NEW, data=form)
    assert page.status_code == 400
    assert "li.wei@example.cn 已在此邮件列表中。" in page.text
    assert f'href="/admin/subscribers/{before["id"]}?list=rural-weekly" id="existing-subscriber"' in page.text
    assert 'value="别人"' in page.text  # what was typed is kept
    assert _stored(site.url, LI_HUNAN.email) == before and site.smtp.messages == []


def test_a_suppressed_address_is_refused_with_a_clear_message(site):
    with transaction(site.url) as session:
        add_suppression(session, "blocked@example.cn", "complaint")
    client = _admin(site)
    page = client.post(NEW + "?lang=en", data=_form(client, email="Blocked@example.cn"))
    assert page.status_code == 400
    assert "Blocked@example.cn is on the suppression list: nothing is ever sent to it." in page.text
    assert _stored(site.url, "Blocked@example.cn") is None and site.smtp.messages == []


def test_bad_fields_are_named_and_nothing_is_saved(site):
    client = _admin(site)
    form = _form(client, email="not an address", region=["999999"], topic=["no-such-topic"], mode="both")
    page = client.post(NEW + "?lang=en", data=form)
    assert page.status_code == 400
    for field in ("email", "regions", "topics"):
        assert f'id="error-{field}"' in page.text, field
    assert "&#39;not an address&#39; is not a valid email address." in page.text
    form = _form(client, email="ok@example.cn", mode="both")
    page = client.post(NEW + "?lang=en", data=form)
    assert page.status_code == 400 and "Choose how they join." in page.text
    with transaction(site.url) as session:
        assert session.scalar(select(models.Subscriber.id)) is None


def test_only_admins_add_and_every_post_needs_its_csrf_token(site):
    add_staff(site.url, SUN_EDITOR)
    editor = site.new_client()
    sign_in(editor, SUN_EDITOR)
    assert editor.get(NEW).status_code == 403
    token = form_csrf(editor.get("/admin/articles").text, "/admin/logout")
    assert editor.post(NEW, data={"csrf_token": token, "email": "x@example.cn"}).status_code == 403
    client = _admin(site)
    form = _form(client, email="x@example.cn", csrf_token="forged")
    assert client.post(NEW, data=form).status_code == 403
    assert _stored(site.url, "x@example.cn") is None


def test_someone_on_another_list_is_added_to_this_one_and_keeps_their_name(site):
    with transaction(site.url) as session:
        other = create_list(session, "county-weekly", {"name": "县域周报", "sender_email": "county@example.org"})
        upsert_subscription(session, other, REGIONS, email=LI_HUNAN.email, name=LI_HUNAN.name, status="confirmed")
    client = _admin(site)
    response = client.post(NEW, data=_form(client, email=LI_HUNAN.email, name="", mode="confirmed"))
    assert response.status_code == 200 and "已添加为已订阅" in response.text  # followed to their page
    with transaction(site.url) as session:
        person = session.scalar(select(models.Subscriber).where(models.Subscriber.email == LI_HUNAN.email))
        lists = session.scalars(select(models.Subscription.list_id).filter_by(subscriber_id=person.id)).all()
        assert person.name == LI_HUNAN.name and len(lists) == 2
