"""The web pages' words, in Chinese (the default) and English.

Every string a page shows comes from CATALOGUE, so a missing translation is a
missing key, which a test catches, rather than a half-Chinese English page.
Region and topic names are proper nouns and stay as the list writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TypeVar

from digest.core.form_mail import MAIL_WORDS
from digest.core.statuses import SubscriptionStatus

DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")

CATALOGUE: dict[str, dict[str, str]] = {
    "zh-CN": {
        "html_lang": "zh-CN",
        "lang_name": "中文",
        "other_lang_label": "English",
        "footer_note": "本页面不使用第三方脚本，也不跟踪您。",
        "error_title": "出错了",
        "bad_link": "此链接无效或已过期，我们没有做任何更改。请使用最近一封邮件中的链接。",
        "csrf_failed": "表单已过期，我们没有做任何更改。请返回、刷新页面后重新提交。",
        "not_found": "找不到这个页面。",
        "rate_limited": "提交太频繁了，请一分钟后再试。",
        "bad_request": "请求无效，我们没有做任何更改。",
        "subscribe_title": "订阅{list}",
        "subscribe_intro": "选择您关注的地区和栏目，每周只收到与您相关的文章。",
        "email": "电子邮箱",
        "name": "称呼（可选）",
        "regions": "地区",
        "regions_help": "可多选。选中省份即包含其下所有市县；“全国”是中央部委等全国性新闻。都不选则接收所有地区。",
        "region_search": "搜索地区",
        "region_search_placeholder": "如：临泽、怀化",
        "search_button": "搜索",
        "search_results": "搜索结果",
        "no_results": "没有找到匹配的地区。",
        "browse_regions": "按省份浏览",
        "chosen_regions": "已选地区：",
        "topics": "栏目",
        "topics_help": "都不选则接收所有栏目。",
        "time_zone": "时区",
        "time_zone_help": "每期在您所在时区的发刊时间送达。",
        "language": "语言",
        "subscribe_button": "订阅",
        "invalid_email": "请输入有效的电子邮箱地址。",
        "invalid_choice": "所选的地区、栏目、时区或语言无效，请重新选择。",
        "check_inbox_title": "请查收确认邮件",
        "check_inbox": "我们已向 {email} 发送一封邮件（如果这个地址可以订阅）。请点击邮件中的链接完成订阅；确认之前，您不会收到本刊。",
        "privacy_note": "我们只用您的邮箱发送本刊，您随时可以一键退订。",
        "confirmed_title": "订阅已确认",
        "confirmed_text": "感谢订阅{list}！今后每期都会按您的选择为您挑选文章。",
        "go_preferences": "管理订阅偏好",
        "prefs_title": "订阅偏好 · {list}",
        "prefs_intro": "{email} 在{list}的订阅设置，无需登录。",
        "status_label": "状态：",
        "paused_until": "暂停中，{date}起恢复",
        "save": "保存选择",
        "saved": "已保存您的选择。",
        "name_plain": "称呼",
        "pause_title": "暂停接收",
        "pause_help": "出门在外？暂停几周，之后自动恢复。",
        "pause_weeks": "暂停周数",
        "pause_button": "暂停",
        "resume_button": "立即恢复",
        "paused_notice": "已暂停，{date}起恢复。",
        "resumed_notice": "已恢复接收。",
        "leave_title": "退订",
        "leave_list": "退订本刊",
        "leave_all": "退订全部刊物",
        "left_title": "您已退订",
        "left_text": "{email} 已退订{list}，今后不会再收到本刊。",
        "left_all_text": "{email} 已退订全部刊物。",
        "resubscribe": "重新订阅",
        "unsub_title": "退订{list}",
        "unsub_text": "点击下面的按钮后，{email} 将不再收到{list}。",
        "unsub_button": "确认退订",
        "unsub_or_prefs": "只想少收一些？可以改为调整地区和栏目。",
        "archive_title": "{list} · 往期",
        "archive_empty": "还没有已发出的期刊。",
        "issue_label": "第{number}期",
        "archive_subscribe": "订阅本刊",
        "archive_link": "往期",
        "nothing_matched": "本期没有与您的选择相符的文章。",
    },
    "en": {
        "html_lang": "en",
        "lang_name": "English",
        "other_lang_label": "中文",
        "footer_note": "This page runs no third-party scripts and does not track you.",
        "error_title": "Something went wrong",
        "bad_link": "This link is invalid or has expired; nothing was changed. Please use the link in your latest email.",
        "csrf_failed": "The form has expired; nothing was changed. Please go back, reload the page and submit it again.",
        "not_found": "There is no such page.",
        "rate_limited": "Too many attempts. Please try again in a minute.",
        "bad_request": "That request was not valid; nothing was changed.",
        "subscribe_title": "Subscribe to {list}",
        "subscribe_intro": "Pick the regions and topics you care about: each week brings only the articles that match.",
        "email": "Email address",
        "name": "Name (optional)",
        "regions": "Regions",
        "regions_help": "Pick any number. A province includes its cities and counties; 全国 is national news from central bodies. Pick none to get every region.",
        "region_search": "Search regions",
        "region_search_placeholder": "e.g. 临泽, 怀化",
        "search_button": "Search",
        "search_results": "Search results",
        "no_results": "No region matches.",
        "browse_regions": "Browse by province",
        "chosen_regions": "Chosen regions: ",
        "topics": "Topics",
        "topics_help": "Pick none to get every topic.",
        "time_zone": "Time zone",
        "time_zone_help": "Each issue arrives at the list's sending time in your time zone.",
        "language": "Language",
        "subscribe_button": "Subscribe",
        "invalid_email": "Please enter a valid email address.",
        "invalid_choice": "A region, topic, time zone or language you chose is not valid; please choose again.",
        "check_inbox_title": "Check your inbox",
        "check_inbox": "We have sent an email to {email} (if that address can subscribe). Open the link in it to finish; until then you will receive no issue.",
        "privacy_note": "We use your address only to send this newsletter, and you can leave with one click at any time.",
        "confirmed_title": "Subscription confirmed",
        "confirmed_text": "Thank you for subscribing to {list}! Every issue will now bring you the articles that match your picks.",
        "go_preferences": "Manage your preferences",
        "prefs_title": "Preferences · {list}",
        "prefs_intro": "Subscription settings of {email} on {list}; no login needed.",
        "status_label": "Status: ",
        "paused_until": "paused, resumes on {date}",
        "save": "Save choices",
        "saved": "Your choices are saved.",
        "name_plain": "Name",
        "pause_title": "Take a break",
        "pause_help": "Away for a while? Pause for a few weeks; deliveries resume by themselves.",
        "pause_weeks": "Weeks",
        "pause_button": "Pause",
        "resume_button": "Resume now",
        "paused_notice": "Paused; deliveries resume on {date}.",
        "resumed_notice": "Deliveries resumed.",
        "leave_title": "Leave",
        "leave_list": "Leave this list",
        "leave_all": "Leave all lists",
        "left_title": "You have left",
        "left_text": "{email} has left {list} and will receive no more issues.",
        "left_all_text": "{email} has left every list.",
        "resubscribe": "Subscribe again",
        "unsub_title": "Unsubscribe from {list}",
        "unsub_text": "Press the button and {email} will no longer receive {list}.",
        "unsub_button": "Unsubscribe",
        "unsub_or_prefs": "Just want fewer articles? Change your regions and topics instead.",
        "archive_title": "{list} · Archive",
        "archive_empty": "No issue has been sent yet.",
        "issue_label": "Issue {number}",
        "archive_subscribe": "Subscribe",
        "archive_link": "Archive",
        "nothing_matched": "No article in this issue matches your picks.",
    },
}
# The form mails' words live beside the code that sends them; the catalogue holds them too, one word list.
for _language, _words in MAIL_WORDS.items():
    CATALOGUE[_language].update(_words)


_Member = TypeVar("_Member", bound=StrEnum)


def words_of_members(prefix: str, words: Mapping[_Member, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Words kept keyed by an enum's members, as catalogue entries `prefix + value` in every language (a missing
    language fails here, at import), for add_words; templates build the same key from the member."""
    return {
        language: {f"{prefix}{member}": by_language[language] for member, by_language in words.items()}
        for language in LANGUAGES
    }


def add_words(catalogue: dict[str, dict[str, str]]) -> None:
    """Adds a page area's words (the admin console's, say) to CATALOGUE; both languages, no clashes."""
    if set(catalogue) != set(LANGUAGES) or set(catalogue["zh-CN"]) != set(catalogue["en"]):
        raise ValueError("a catalogue needs the same keys in every language")
    for language, words in catalogue.items():
        clashes = set(words) & set(CATALOGUE[language])
        if clashes:
            raise ValueError(f"message keys defined twice: {sorted(clashes)}")
        CATALOGUE[language].update(words)


def normalise_language(value: str | None) -> str | None:
    """zh, zh-CN, zh-Hans-CN → zh-CN; en, en-GB → en; anything else → None."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The first language we speak among those the browser lists, by its q-values."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, position, tag))
    for negative_q, _, tag in sorted(ranked):
        if negative_q < 0:
            language = normalise_language(tag)
            if language:
                return language
    return None


def choose_language(
    query_lang: str | None, subscriber_locale: str | None, accept_language: str | None, otherwise: str | None = None
) -> str:
    """An explicit ?lang= wins, then what the subscriber chose, then the browser, then `otherwise` (the list's
    language, on a list's public pages), then Chinese."""
    return (
        normalise_language(query_lang)
        or normalise_language(subscriber_locale)
        or from_accept_language(accept_language)
        or normalise_language(otherwise)
        or DEFAULT_LANGUAGE
    )


def translator(language: str) -> Callable[..., str]:
    catalogue = CATALOGUE.get(language, CATALOGUE[DEFAULT_LANGUAGE])

    def t(key: str, **values) -> str:
        # A KeyError here is a bug in a template, and should fail loudly in tests.
        text = catalogue[key]
        return text.format(**values) if values else text

    return t


# The subscription's state on the public preferences page (web/manage.py: `status_` + the status).
SUBSCRIPTION_STATUS_WORDS: dict[SubscriptionStatus, dict[str, str]] = {
    SubscriptionStatus.PENDING: {"zh-CN": "待确认", "en": "awaiting confirmation"},
    SubscriptionStatus.CONFIRMED: {"zh-CN": "已订阅", "en": "subscribed"},
    SubscriptionStatus.UNSUBSCRIBED: {"zh-CN": "已退订", "en": "unsubscribed"},
}
add_words(words_of_members("status_", SUBSCRIPTION_STATUS_WORDS))
