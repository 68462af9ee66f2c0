"""Sending and cancelling an issue from the console ask first, with the number of readers it reaches; a post
without the confirmation changes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from personas import ALL, LI_HUNAN, SUN_EDITOR, subscribe_confirmed
from sqlalchemy import func, select
from webutil import PERIOD_END, add_staff, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.delivery.now import background_send
from digest.services.issues import plan_issue
from digest.services.lists import ensure_default_list

REGIONS = load_regions()


def _setup(site, personas=ALL) -> tuple[object, str]:
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        subscribe_confirmed(session, ml, REGIONS, personas)
        issue_id = plan_issue(session, ml, PERIOD_END).id
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    return site.client, f"/admin/issues/{issue_id}"


def _state(url) -> tuple[str, int]:
    with transaction(url) as session:
        issue = session.scalar(select(models.Issue))
        return issue.status, session.scalar(select(func.count()).select_from(models.Delivery))


def _post(client, page, action, **data):
    token = form_csrf(client.get(page).text, action)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def _wait(path):
    thread = background_send(int(path.rsplit("/", 1)[1]))
    if thread is not None:
        thread.join(30)


def test_send_now_asks_with_the_count_and_sends_only_once_confirmed(site):
    client, path = _setup(site)
    detail = client.get(path).text
    # The button leads to a question (a GET form: no script needed), not to the send itself.
    assert re.search(rf'<form method="get" action="{path}/send"', detail)
    assert not re.search(rf'<form method="post" action="{path}/(send|cancel)"', detail)
    question = client.get(f"{path}/send")
    assert question.status_code == 200
    assert f"发送给 {len(ALL)} 位订阅者？" in question.text and 'name="confirm"' in question.text
    assert _state(site.url) == ("planned", 0)  # asking changed nothing
    # The form's own token, but no confirmation: refused, the question again, nothing sent.
    unconfirmed = _post(client, f"{path}/send", f"{path}/send")
    assert unconfirmed.status_code == 400 and "这一操作需要确认" in unconfirmed.text
    assert _state(site.url) == ("planned", 0) and site.smtp.messages == []
    done = _post(client, f"{path}/send", f"{path}/send", confirm="yes")
    assert done.status_code == 303 and done.headers["location"] == f"{path}?notice=send_background"
    _wait(path)
    assert _state(site.url) == ("sent", len(ALL)) and site.smtp.messages


def test_on_a_sent_issue_the_button_says_it_reaches_only_newcomers_and_counts_them(site):
    client, path = _setup(site, [LI_HUNAN])
    _post(client, f"{path}/send", f"{path}/send", confirm="yes")
    _wait(path)
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        for i in range(1234):
            session.add(models.Subscriber(email=f"new{i}@example.org", name=""))
        session.flush()
        ids = session.scalars(select(models.Subscriber.id).where(models.Subscriber.email.like("new%"))).all()
        session.add_all(models.Subscription(subscriber_id=i, list_id=ml.id, status="confirmed") for i in ids)
    detail = client.get(path).text
    assert "已发送" in detail and "发送给尚未收到的订阅者" in detail and "立即发送" not in detail
    question = client.get(f"{path}/send").text
    assert "发送给 1,234 位尚未收到本期的订阅者？" in question
    english = client.get(f"{path}/send?lang=en").text
    assert "Send to 1,234 subscribers who have not had this issue?" in english
    assert _state(site.url) == ("sent", 1)


def test_cancel_asks_with_the_unsent_count_and_a_bare_post_cancels_nothing(site):
    client, path = _setup(site)
    _post(client, path, f"{path}/pause")  # rows exist (none sent) once a paused issue was started: plan them
    with transaction(site.url) as session:
        from digest.services.enqueue import enqueue_deliveries

        enqueue_deliveries(session, session.scalar(select(models.Issue)))
    question = client.get(f"{path}/cancel")
    assert f"尚未发出的 {len(ALL)} 封邮件将全部跳过" in question.text
    bare = _post(client, f"{path}/cancel", f"{path}/cancel")
    assert bare.status_code == 400 and _state(site.url)[0] == "paused"
    done = _post(client, f"{path}/cancel", f"{path}/cancel", confirm="yes")
    assert done.status_code == 303 and _state(site.url)[0] == "cancelled"
    # Nothing left to ask about: the question is refused as the action would be.
    again = client.get(f"{path}/cancel")
    assert again.status_code == 409 and "无法执行“取消本期”" in again.text
