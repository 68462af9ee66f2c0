"""Admin lists pages: counts, settings, schedule, branding, topics; admins only; all-or-nothing saves."""

from __future__ import annotations

import re

from personas import SUN_EDITOR, ZHOU_ADMIN
from webutil import add_staff, form_csrf, form_fields, sign_in

from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.lists import DEFAULT_SENDER, ensure_default_list
from digest.services.subscribers import upsert_subscription

SETTINGS = "/admin/lists/rural-weekly"


def _admin(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    return site.client


def _state(url) -> dict:
    with transaction(url) as session:
        ml = ensure_default_list(session)
        return {
            "name": ml.name,
            "sender": (ml.sender_name, ml.sender_email, ml.reply_to),
            "language": ml.language,
            "slot": (ml.send_weekday, ml.send_time, ml.time_zone, ml.schedule_enabled, ml.rate_limit),
            "branding": (ml.masthead, ml.tagline, ml.credits, ml.contact_email, ml.postal_address),
            "topics": [(t.slug, t.name) for t in ml.topics],
        }


def _form(client) -> dict:
    page = client.get(SETTINGS)
    assert page.status_code == 200
    topics = re.findall(r'name="topic_slug" value="([^"]+)"', page.text)
    names = re.findall(r'name="topic_name" value="([^"]*)"', page.text)
    return {
        "csrf_token": form_csrf(page.text, SETTINGS),
        "name": "乡村振兴周报",
        "sender_name": "乡村振兴周报",
        "sender_email": "weekly@digest.example.org",
        "reply_to": "",
        "language": "zh-CN",
        "weekday": "monday",
        "time": "08:00",
        "time_zone": "Asia/Shanghai",
        "schedule_enabled": "1",
        "rate_limit": "0",
        "masthead": "乡村振兴周报",
        "tagline": "每周要闻",
        "credit_label": ["", "", ""],
        "credit_value": ["", "", ""],
        "contact_email": "",
        "postal_address": "",
        "topic_slug": topics,
        "topic_name": names,
        "topic_position": [str(i + 1) for i in range(len(topics))],
    }


def test_the_lists_page_shows_subscriber_counts(site):
    regions = load_regions()
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        for i in range(3):
            upsert_subscription(session, ml, regions, email=f"c{i}@example.org", status="confirmed")
        upsert_subscription(session, ml, regions, email="p@example.org")
    page = _admin(site).get("/admin/lists")
    assert page.status_code == 200
    assert re.search(r'class="num confirmed">3<', page.text) and re.search(r'class="num pending">1<', page.text)
    assert "星期一 08:00 Asia/Shanghai" in page.text


def test_an_admin_changes_settings_schedule_branding_and_topics(site):
    client = _admin(site)
    form = _form(client)
    form.update(
        name="乡村振兴周报（试行）",
        sender_email="desk@example.org",
        reply_to="reply@example.org",
        language="en",
        weekday="friday",
        time="17:30",
        time_zone="Europe/Berlin",
        rate_limit="12.5",
        masthead="乡村振兴 · 周报",
        tagline="按地区挑选的每周要闻",
        credit_label=["制作", "责任编辑", "审核"],
        credit_value=["编辑部", "林晓", "周明"],
        contact_email="editor@example.org",
        postal_address="示例路 1 号",
        topic_position=["2", "1", "3", "4", "5", "6"],
        new_topic_slug="culture",
        new_topic_name="乡风文明",
    )
    form["topic_name"][2] = "产业振兴"
    del form["schedule_enabled"]  # unticked
    response = client.post(SETTINGS, data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == SETTINGS + "?saved=1"
    state = _state(site.url)
    assert state["name"] == "乡村振兴周报（试行）" and state["language"] == "en"
    assert state["sender"] == ("乡村振兴周报", "desk@example.org", "reply@example.org")
    assert state["slot"] == (4, "17:30", "Europe/Berlin", False, 12.5)
    assert state["branding"] == (
        "乡村振兴 · 周报",
        "按地区挑选的每周要闻",
        [["制作", "编辑部"], ["责任编辑", "林晓"], ["审核", "周明"]],
        "editor@example.org",
        "示例路 1 号",
    )
    assert state["topics"][:3] == [("poverty-alleviation", "脱贫攻坚"), ("macro", "宏观形势"), ("industry", "产业振兴")]
    assert state["topics"][-1] == ("culture", "乡风文明")
    page = client.get(SETTINGS + "?saved=1")
    assert "设置已保存" in page.text and 'value="林晓"' in page.text


def test_one_bad_field_saves_nothing_and_each_error_names_its_field(site):
    client = _admin(site)
    before = _state(site.url)
    form = _form(client)
    form.update(
        name="改了名字",
        time="25:61",
        time_zone="Mars/Olympus",
        sender_email="not-an-address",
        rate_limit="-3",
        credit_label=["制作", ""],
        credit_value=["", "孤零零的内容"],
        new_topic_slug="Bad Slug!",
        new_topic_name="新栏目",
    )
    page = client.post(SETTINGS, data=form)
    assert page.status_code == 400 and "什么都没有保存" in page.text
    for field in ("time", "time_zone", "sender_email", "rate_limit", "credits", "topics"):
        assert f'id="error-{field}"' in page.text, field
    assert "Mars/Olympus" in page.text and 'value="Bad Slug!"' in page.text and 'value="改了名字"' in page.text
    assert _state(site.url) == before
    form = _form(client)
    form["topic_position"][0] = "first"
    assert client.post(SETTINGS, data=form).status_code == 400
    form = _form(client)
    form["topic_name"][1] = form["topic_name"][0]  # two topics with one name
    assert client.post(SETTINGS, data=form).status_code == 400
    assert _state(site.url) == before


def test_an_editor_may_not_open_or_post_the_lists_pages(site):
    add_staff(site.url, SUN_EDITOR)
    client = site.client
    sign_in(client, SUN_EDITOR)
    before = _state(site.url)
    assert client.get("/admin/lists").status_code == 403
    assert client.get(SETTINGS).status_code == 403
    token = form_csrf(client.get("/admin/articles").text, "/admin/logout")  # any token she can get
    assert client.post(SETTINGS, data={"csrf_token": token, "name": "编辑改的"}).status_code == 403
    assert _state(site.url) == before


def test_settings_post_without_csrf_is_refused(site):
    client = _admin(site)
    before = _state(site.url)
    form = _form(client)
    form.update(name="被篡改", csrf_token="forged")
    assert client.post(SETTINGS, data=form).status_code == 403
    del form["csrf_token"]
    assert client.post(SETTINGS, data=form).status_code == 403
    assert _state(site.url) == before
    assert client.get("/admin/lists/no-such-list").status_code == 404


def test_an_admin_sets_the_catch_up_window_and_a_bad_one_is_named(site):
    client = _admin(site)
    page = client.get(SETTINGS)
    assert 'name="catch_up_hours"' in page.text and 'value="6.0"' in page.text and "补发时限" in page.text
    response = client.post(SETTINGS, data=dict(_form(client), catch_up_hours="12.5"), follow_redirects=False)
    assert response.status_code == 303
    with transaction(site.url) as session:
        assert ensure_default_list(session).catch_up_hours == 12.5
    refused = client.post(SETTINGS + "?lang=en", data=dict(_form(client), catch_up_hours="200"))
    assert refused.status_code == 400 and 'id="error-catch_up_hours"' in refused.text
    assert "Enter the catch-up window in hours, from 0 to 144." in refused.text
    with transaction(site.url) as session:
        assert ensure_default_list(session).catch_up_hours == 12.5


def test_a_fresh_list_saves_unchanged_with_its_default_sender_and_the_dashboard_still_warns(site):
    """The default sender is on localhost: the form takes it, so an admin can save a first change (here none)
    without inventing an address; the dashboard keeps saying mail from it will not be delivered."""
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = DEFAULT_SENDER
    client = _admin(site)
    fields = form_fields(client.get(SETTINGS).text, SETTINGS)
    assert fields["sender_email"] == DEFAULT_SENDER == "weekly@localhost"
    response = client.post(SETTINGS, data=fields, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert _state(site.url)["sender"] == ("乡村振兴周报", "weekly@localhost", None)
    assert "发件地址仍是 weekly@localhost" in client.get(SETTINGS).text.split('id="sender-note"', 1)[1]
    assert "The sender is still weekly@localhost" in client.get("/admin/?lang=en").text
    fields.update(sender_email="desk@localhost", csrf_token=form_csrf(client.get(SETTINGS).text, SETTINGS))
    assert client.post(SETTINGS, data=fields, follow_redirects=False).status_code == 303
    assert _state(site.url)["sender"][1] == "desk@localhost"
    fields.update(sender_email="desk@rural-weekly.cn", csrf_token=form_csrf(client.get(SETTINGS).text, SETTINGS))
    assert client.post(SETTINGS, data=fields, follow_redirects=False).status_code == 303
    assert 'id="sender-note"' not in client.get(SETTINGS).text
    for refused in ("desk@nowhere", "desk@-bad-.localhost", "a b@localhost", "@localhost"):
        fields.update(sender_email=refused, csrf_token=form_csrf(client.get(SETTINGS).text, SETTINGS))
        page = client.post(SETTINGS, data=fields)
        assert page.status_code == 400 and 'id="error-sender_email"' in page.text, refused
    assert _state(site.url)["sender"][1] == "desk@rural-weekly.cn"


def test_an_admin_picks_how_much_of_each_article_the_mail_carries(site):
    client = _admin(site)
    page = client.get(SETTINGS)
    assert re.search(r'<option value="lead" selected>导语（首段）加“阅读全文”链接</option>', page.text)
    form = _form(client)
    response = client.post(SETTINGS, data=dict(form, article_text="full"), follow_redirects=False)
    assert response.status_code == 303
    with transaction(site.url) as session:
        assert ensure_default_list(session).article_text == "full"
    refused = client.post(SETTINGS, data=dict(_form(client), article_text="summary"))
    assert (
        refused.status_code == 400
        and "“邮件中的文章”只能是 lead（导语）或 full（全文），而不是“summary”" in refused.text
    )
    with transaction(site.url) as session:
        assert ensure_default_list(session).article_text == "full"


def test_an_admin_sets_the_review_threshold_and_a_bad_one_is_named(site):
    client = _admin(site)
    page = client.get(SETTINGS)
    assert 'name="review_below"' in page.text and 'value="0.6"' in page.text and "自动标注待审核线" in page.text
    response = client.post(SETTINGS, data=dict(_form(client), review_below="0.75"), follow_redirects=False)
    assert response.status_code == 303
    with transaction(site.url) as session:
        assert ensure_default_list(session).review_below == 0.75
    refused = client.post(SETTINGS + "?lang=en", data=dict(_form(client), review_below="1.5"))
    assert refused.status_code == 400 and 'id="error-review_below"' in refused.text
    assert "Enter the review threshold as a number from 0 to 1." in refused.text
    with transaction(site.url) as session:
        assert ensure_default_list(session).review_below == 0.75


def test_an_admin_sets_the_bounce_domain_and_threshold_and_bad_ones_are_named(site):
    client = _admin(site)
    page = client.get(SETTINGS)
    assert 'name="bounce_domain"' in page.text and 'name="bounce_threshold"' in page.text and "退信域名" in page.text
    form = dict(_form(client), bounce_domain="Bounce.Example.ORG.", bounce_threshold="3")
    assert client.post(SETTINGS, data=form, follow_redirects=False).status_code == 303
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        assert (ml.bounce_domain, ml.bounce_threshold) == ("bounce.example.org", 3.0)
    refused = client.post(
        SETTINGS + "?lang=en", data=dict(_form(client), bounce_domain="not a domain", bounce_threshold="-1")
    )
    assert refused.status_code == 400
    assert 'id="error-bounce_domain"' in refused.text and 'id="error-bounce_threshold"' in refused.text
    assert (
        "&#34;not a domain&#34; is not a domain name" in refused.text
        or '"not a domain" is not a domain name' in refused.text
    )
    cleared = client.post(SETTINGS, data=dict(_form(client), bounce_domain=""), follow_redirects=False)
    assert cleared.status_code == 303
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        assert (ml.bounce_domain, ml.bounce_threshold) == (None, 3.0)
