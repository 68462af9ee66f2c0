"""The mails the public subscribe form sends: a confirmation to a new address, and a note with the
preferences link to an address already confirmed. Their words in both languages, and the message built
from plain data (the list's branding, the person, the link), by whichever process sends it: the web
process without a broker, a worker with one.

A confirmation goes to whatever address was typed, so it carries no word the requester chose: the name
waits until the mailbox's owner confirms. A confirmed subscriber's name is their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import jinja2
from markupsafe import escape

from digest.core.domain import ListInfo, Recipient, RenderedDigest
from digest.core.messages import MessageHeaders, write_rendered
from digest.core.rendering import inline_css

CONFIRM, KNOWN = "confirm", "known"
KINDS = (CONFIRM, KNOWN)

# The web catalogue (digest/web/i18n.py) takes these in, so the pages and the mails share one word list.
MAIL_WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "mail_greeting": "{name}，您好：",
        "mail_greeting_anon": "您好：",
        "mail_confirm_subject": "请确认订阅{list}",
        "mail_confirm_body": "有人（很可能是您）用这个邮箱订阅了{list}。请打开下面的链接确认：",
        "mail_confirm_button": "确认订阅",
        "mail_confirm_ignore": "如果不是您本人操作，请忽略此邮件，您不会收到任何其他邮件。",
        "mail_known_subject": "您已订阅{list}",
        "mail_known_body": (
            "有人用这个邮箱再次提交了{list}的订阅表单。您已经是订阅者，什么都没有改变。"
            "如需修改选择或退订，请打开下面的链接："
        ),
        "mail_known_button": "管理订阅",
    },
    "en": {
        "mail_greeting": "Hello {name},",
        "mail_greeting_anon": "Hello,",
        "mail_confirm_subject": "Please confirm your subscription to {list}",
        "mail_confirm_body": (
            "Someone, probably you, asked to subscribe this address to {list}. Please open this link to confirm:"
        ),
        "mail_confirm_button": "Confirm subscription",
        "mail_confirm_ignore": "If it was not you, ignore this email: you will receive nothing else.",
        "mail_known_subject": "You are already subscribed to {list}",
        "mail_known_body": (
            "Someone submitted the subscription form of {list} with this address again. You are subscribed "
            "already and nothing has changed. To change your picks or leave, open this link:"
        ),
        "mail_known_button": "Manage subscription",
    },
}
_HTML_LANG = {"zh-CN": "zh-CN", "en": "en"}

# Stands in for the personal link while the mail is rendered and its CSS inlined: the bodies are then the same
# for every address of a list, language and kind, so the templates and premailer (a millisecond and more) run
# once for each, not once a mail.
LINK_STAND_IN = "https://link.invalid/personal-link"


@dataclass(frozen=True)
class FormMailTo:
    """Whom a form mail goes to, as it needs them."""

    email: str
    name: str
    locale: str


@dataclass(frozen=True)
class FormMailButton:
    """What a form mail asks of its reader: its `kind` (CONFIRM or KNOWN) and the personal link it opens."""

    kind: str
    url: str


def build_form_mail(
    env: jinja2.Environment,
    info: ListInfo,
    to: FormMailTo,
    button: FormMailButton,
    *,
    link_domain: str,
    now: datetime,
) -> bytes:
    """The whole message of a form mail to `to`, its button opening `button.url`."""
    name = " ".join(to.name.split()) if button.kind == KNOWN else ""
    subject, html, text = _bodies(env, info, to.locale, button.kind, name)
    headers = MessageHeaders(
        list_info=info,
        # No List-Unsubscribe: there is nothing to leave before confirming.
        recipient=Recipient(email=to.email, name=name),
        list_id_domain=link_domain,
        date=now.replace(microsecond=0),
    )
    html = html.replace(LINK_STAND_IN, str(escape(button.url)))
    return write_rendered(RenderedDigest(subject, html, text.replace(LINK_STAND_IN, button.url)), headers)


@lru_cache(maxsize=256)
def _bodies(env: jinja2.Environment, info: ListInfo, locale: str, kind: str, name: str) -> tuple[str, str, str]:
    """(subject, HTML, text), with LINK_STAND_IN where the personal link goes."""
    words = MAIL_WORDS.get(locale, MAIL_WORDS["zh-CN"])
    subject = words[f"mail_{kind}_subject"].format(list=info.name)
    context = {
        "list": info,
        "lang": _HTML_LANG.get(locale, "zh-CN"),
        "subject": subject,
        "greeting": words["mail_greeting"].format(name=name) if name else words["mail_greeting_anon"],
        "body": words[f"mail_{kind}_body"].format(list=info.name),
        "button": words[f"mail_{kind}_button"],
        "url": LINK_STAND_IN,
        "note": words["mail_confirm_ignore"] if kind == CONFIRM else "",
    }
    html = inline_css(env.get_template("confirm.html").render(context))
    text = env.get_template("confirm.txt").render(context) + "\n"
    return subject, html, text
