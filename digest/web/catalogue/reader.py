"""The subscriber pages' words for confirming (the button, the recap), the ways back from an error page,
test copies' links and the region tree's toggles, in Chinese (the default) and English; and a moment as each language writes it."""

from __future__ import annotations

from datetime import datetime

from digest.core.digest_words import cn_date, en_date
from digest.web.i18n import add_words

_WEEKDAYS = {
    "zh-CN": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def moment(lang: str, when: datetime) -> str:
    """`when` (already in the reader's zone) as a date, weekday and time of day: 2026年11月30日（星期一）08:00."""
    clock = f"{when.hour:02d}:{when.minute:02d}"
    weekday = _WEEKDAYS["en" if lang == "en" else "zh-CN"][when.weekday()]
    if lang == "en":
        return f"{weekday} {en_date(when)}, {clock}"
    return f"{cn_date(when)}（{weekday}）{clock}"


add_words(
    {
        "zh-CN": {
            "confirm_title": "确认订阅{list}",
            "confirm_text": "请点击下面的按钮，确认 {email} 订阅{list}。",
            "confirm_button": "确认订阅",
            "confirm_why": "为防止邮件安全扫描等程序替您订阅，需要您亲自点击一次。",
            "recap_title": "您的选择",
            "recap_regions": "地区：",
            "recap_topics": "栏目：",
            "recap_all_regions": "全部地区",
            "recap_all_topics": "全部栏目",
            "recap_separator": "、",
            "first_issue": "第一期将于{when}（{zone}时间）送达。",
            "first_issue_by_hand": "本刊由编辑手动发送，下一期发出时您就会收到。",
            "confirm_expired": "这个确认链接已过期（有效期7天），我们没有做任何更改。您可以重新订阅，我们会再发一封确认邮件。",
            "subscribe_again": "重新订阅",
            "back_to_subscribe": "返回订阅页",
            "back_to_preferences": "返回订阅偏好",
            "back_to_confirm": "返回确认页",
            "pause_weeks_invalid": "暂停周数须是1到{max}之间的整数，我们没有做任何更改。",
            "no_such_list": "找不到这份刊物，我们没有做任何更改。请检查链接是否完整。",
            "known_lists": "本站的刊物：",
            "region_places_in": "{name}下辖地区",
            "test_copy_title": "这是一份测试邮件",
            "test_copy_unsubscribe": "您收到的是{list}的测试邮件，没有订阅，所以无需退订。我们没有做任何更改。",
            "test_copy_preferences": "您收到的是{list}的测试邮件，它的链接不属于任何订阅者。我们没有做任何更改。",
            "test_copy_unpublished": "您收到的是{list}的测试邮件。这一期还没有发出，发出后才能在网页上阅读；测试邮件中的内容就是订阅者将看到的样子。",
        },
        "en": {
            "confirm_title": "Confirm your subscription to {list}",
            "confirm_text": "Press the button to confirm that {email} subscribes to {list}.",
            "confirm_button": "Confirm subscription",
            "confirm_why": "One press of yours is needed, so that no mail scanner can subscribe you by opening the link.",
            "recap_title": "Your picks",
            "recap_regions": "Regions: ",
            "recap_topics": "Topics: ",
            "recap_all_regions": "all regions",
            "recap_all_topics": "all topics",
            "recap_separator": ", ",
            "first_issue": "Your first issue arrives on {when} ({zone} time).",
            "first_issue_by_hand": "This list is sent by its editors: you will get the next issue they send.",
            "confirm_expired": "This confirmation link has expired (links last 7 days); nothing was changed. Subscribe again and we will mail you a new one.",
            "subscribe_again": "Subscribe again",
            "back_to_subscribe": "Back to the subscription form",
            "back_to_preferences": "Back to your preferences",
            "back_to_confirm": "Back to the confirmation page",
            "pause_weeks_invalid": "The number of weeks must be a whole number from 1 to {max}; nothing was changed.",
            "no_such_list": "There is no such newsletter; nothing was changed. Please check that the link is complete.",
            "known_lists": "Newsletters here: ",
            "region_places_in": "Places in {name}",
            "test_copy_title": "This is a test copy",
            "test_copy_unsubscribe": "You received a test copy of {list}, not a subscription, so there is nothing to leave. Nothing was changed.",
            "test_copy_preferences": "You received a test copy of {list}; its links belong to no subscriber. Nothing was changed.",
            "test_copy_unpublished": "You received a test copy of {list}. This issue has not gone out yet, so it cannot be read online; the test copy shows what subscribers will see.",
        },
    }
)
