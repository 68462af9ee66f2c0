"""A test copy's links (signed for nobody): "view in browser" opens the issue once it went out and says why
not before; unsubscribe and preferences say it is a test copy and change nothing, for the test recipient and
for a real subscriber at the same address. Over HTTP, on SQLite and PostgreSQL, through a real SMTP server."""

from __future__ import annotations

from test_pages import _add, _send_issue, _subscription
from webutil import LIST, PERIOD_END, link_in, parse_mail

from digest.adapters.storage.db import transaction
from digest.services.delivery.testsend import compose_test_send, deliver_test
from digest.services.issues import plan_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime

READER = "li.wei@example.cn"


def _test_copy(site, to: str) -> tuple[int, str, str]:
    """Sends a test copy of this week's issue (of READER's picks) to `to`; (issue id, its text, its headers)."""
    runtime = Runtime(site.settings)
    with transaction(site.url) as session:
        issue_id = plan_issue(session, ensure_default_list(session), PERIOD_END).id
        test = compose_test_send(runtime, session, issue_id, to, subscriber_email=READER)
    deliver_test(runtime, test)
    msg, text, _ = parse_mail(site.smtp.messages[-1].data)
    return issue_id, text, msg["List-Unsubscribe"]


def test_a_test_copys_unsubscribe_and_preferences_say_so_and_change_nothing(site):
    # The editor tests on the reader's own address: the copy still holds no key to their subscription.
    _add(site.url, READER, regions=["湖南"])
    _, text, header = _test_copy(site, READER)
    unsubscribe, preferences = link_in(text, "/u/"), link_in(text, "/p/")
    assert f"https://digest.example.org{unsubscribe}" in header
    for path, words in ((unsubscribe, "没有订阅，所以无需退订"), (preferences, "它的链接不属于任何订阅者")):
        page = site.new_client().get(path)
        assert page.status_code == 200, path
        assert "这是一份测试邮件" in page.text and words in page.text and "我们没有做任何更改" in page.text
        assert '<span class="brand">乡村振兴周报</span>' in page.text and "<form" not in page.text
        assert f'href="/lists/{LIST}/subscribe?lang=zh-CN"' in page.text
    english = site.new_client().get(unsubscribe, headers={"Accept-Language": "en"})
    assert "This is a test copy" in english.text and "Nothing was changed." in english.text
    # A mail provider's one-click (RFC 8058: 200, no cookies) and a bare POST to either page: nothing moves.
    one_click = site.new_client().post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and "这是一份测试邮件" in one_click.text
    posted = site.new_client().post(preferences, data={"action": "leave_all"})
    assert posted.status_code == 200 and "这是一份测试邮件" in posted.text
    sub = _subscription(site.url, READER)
    assert sub.status == "confirmed" and sub.unsubscribed_at is None and sub.region_codes == ["430000"]


def test_a_test_copys_view_link_opens_the_issue_once_it_went_out(site):
    _add(site.url, READER, regions=["湖南"])
    issue_id, text, _ = _test_copy(site, "checker@example.net")
    view = link_in(text, f"/issues/{issue_id}/view/")
    before = site.new_client().get(view)
    assert before.status_code == 200 and "这一期还没有发出" in before.text
    assert "沅陵县创办全国首家乡村振兴金融服务组织" not in before.text  # not before its readers have it

    _send_issue(site)
    after = site.new_client().get(view)
    assert after.status_code == 200 and "default-src 'none'" in after.headers["content-security-policy"]
    # The whole issue, as the archive shows it, and its links lead to the public pages, not to anyone's.
    assert "沅陵县创办全国首家乡村振兴金融服务组织" in after.text and "部署全面推进乡村振兴工作" in after.text
    assert f"/lists/{LIST}/subscribe" in after.text and "/u/" not in after.text and READER not in after.text
    # The link names its list, not an issue: an issue that is not there is not opened either.
    elsewhere = site.new_client().get(f"/issues/{issue_id + 100}/view/" + view.rsplit("/", 1)[1])
    assert elsewhere.status_code == 200 and "这一期还没有发出" in elsewhere.text
