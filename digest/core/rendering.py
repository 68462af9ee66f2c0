"""Digest rendering: Jinja2 templates, CSS inlined by premailer.

Content depends only on which articles a subscriber gets, so the expensive
part (templates + premailer, tens of milliseconds) runs once per distinct
content with placeholder markers where the personal parts go; `personalise`
then swaps the markers for one subscriber's name and links with plain string
replacement, which costs microseconds.

Templates never see secrets: they get the Digest, the markers, and a few
display strings.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cssutils
import jinja2
import premailer

from digest.core.digest_words import cn_date, digest_words, greeting, period_words, reader_language
from digest.core.domain import Article, Digest, Recipient, RenderedDigest
from digest.core.faults import SetupError
from digest.core.leads import article_lead
from digest.core.plaintext import html_to_text, wrap_text
from digest.core.settings import ConfigError

# A wheel carries templates/ inside the package (pyproject.toml force-includes it); a source checkout
# and an editable install read the one at the top of the repo, which stays the only copy in git.
PACKAGED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SOURCE_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
TEXT_WIDTH = 72  # columns; 36 Chinese characters: what a text filter wraps at when asked to
SUBJECT_HEADLINE = 40  # characters of the top headline a subject keeps; with the count and number, under 78

# The markers are plain ASCII words without characters that HTML escaping,
# lxml serialisation or URL quoting would touch, so they come out of Jinja and
# premailer byte for byte, in text and in href attributes alike.
_MARKER_PREFIX = "DIGEST-PH-"
_MARKER_SUFFIX = "-7f3a"
_FIELDS = (
    "GREETING",
    "NAME",
    "EMAIL",
    "FOLLOWING",
    "UNSUBSCRIBE_URL",
    "UNSUBSCRIBE_MAILTO",
    "PREFERENCES_URL",
    "VIEW_URL",
)
_MARKER_RE = re.compile(re.escape(_MARKER_PREFIX) + "(" + "|".join(_FIELDS) + ")" + re.escape(_MARKER_SUFFIX))
# What article text that happens to contain a marker prefix is turned into, so
# that no one can make a digest show another field where they wrote text.
_DEFUSED_PREFIX = "DIGEST\u2060-PH-"


class _Marker(str):
    """A marker the templates may output; any other text containing one is defused."""


def _marker(field: str) -> _Marker:
    return _Marker(f"{_MARKER_PREFIX}{field}{_MARKER_SUFFIX}")


@dataclass(frozen=True)
class _Person:
    greeting: _Marker
    name: _Marker
    email: _Marker
    following: _Marker  # what they picked, in words: their picks need not be all their content's readers'


@dataclass(frozen=True)
class _Links:
    unsubscribe: _Marker
    unsubscribe_mailto: _Marker
    preferences: _Marker
    view: _Marker


_PERSON = _Person(_marker("GREETING"), _marker("NAME"), _marker("EMAIL"), _marker("FOLLOWING"))
_LINKS = _Links(
    _marker("UNSUBSCRIBE_URL"), _marker("UNSUBSCRIBE_MAILTO"), _marker("PREFERENCES_URL"), _marker("VIEW_URL")
)


def _finalize(value: object) -> object:
    if isinstance(value, str) and _MARKER_PREFIX in value and type(value) is not _Marker:
        return value.replace(_MARKER_PREFIX, _DEFUSED_PREFIX)
    return value


def templates_dir() -> Path:
    """Where the mail templates are, with the web pages in its web/: DIGEST_TEMPLATES_DIR, else the packaged copy,
    else the source checkout's. Everything that loads a template asks here, so mail and web never disagree."""
    override = os.environ.get("DIGEST_TEMPLATES_DIR", "").strip()
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise ConfigError(f"DIGEST_TEMPLATES_DIR is not a directory: {override}")
        return path
    for path in (PACKAGED_TEMPLATES, SOURCE_TEMPLATES):
        if (path / "digest.subject.txt").is_file():
            return path
    raise ConfigError(f"no templates in {PACKAGED_TEMPLATES} or {SOURCE_TEMPLATES}; set DIGEST_TEMPLATES_DIR")


def make_environment(templates: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates or templates_dir())),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm", "xml"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=_finalize,
    )
    env.filters["cn_date"] = cn_date
    env.filters["as_text"] = lambda body, width=0: html_to_text(body, width)  # 0: paragraphs as single lines
    env.filters["wrap"] = lambda text, width=TEXT_WIDTH, prefix="": wrap_text(str(text), width, prefix)
    env.filters["clip"] = clip
    return env


def clip(text: str, length: int = SUBJECT_HEADLINE) -> str:
    """`text` on one line, cut to `length` characters with an ellipsis when longer."""
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _fetch_nothing(url: str) -> tuple[None, str]:
    """cssutils' fetcher: every @import reads as an empty stylesheet."""
    return None, ""


class _StyleLeftover(tuple[Any, ...]):  # cssutils rules: cssutils has no types
    """A <style>'s rules that cannot be inlined, with their serialised CSS."""

    css: str


class _Premailer(premailer.Premailer):  # type: ignore[misc]  # premailer ships no types: its class is Any
    """Premailer that turns one <style> text into rules once per process, not once per call.

    Every digest carries the same stylesheet, and cssutils serialising its
    declarations (in `_parse_style_rules` and `_css_rules_to_string`) was most
    of premailer's time. Both results depend only on the CSS text, its index
    and this instance's options, so they are kept per instance. The output is
    unchanged; tests/test_rendering.py compares it with a plain Premailer.
    """

    _MAX_SHEETS = 16  # distinct stylesheets are a handful of templates; bound it anyway

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._sheets: dict[tuple[str, int], tuple[tuple[Any, ...], _StyleLeftover]] = {}
        self._sheets_lock = threading.Lock()

    def _parse_css_string(self, css_body: str, validate: bool = True) -> Any:
        # premailer's allow_network stops only its own <link> fetches; cssutils would still follow an
        # @import to any host (a loopback service included), so the parser gets a fetcher that fetches nothing.
        parser = cssutils.CSSParser(fetcher=_fetch_nothing, validate=validate)
        return parser.parseString(css_body)

    def _parse_style_rules(self, css_body: str, ruleset_index: int) -> tuple[list[Any], _StyleLeftover]:
        key = (css_body, ruleset_index)
        hit = self._sheets.get(key)
        if hit is None:
            # cssutils objects are not thread-safe; parse and serialise once under the lock.
            with self._sheets_lock:
                hit = self._sheets.get(key)
                if hit is None:
                    rules, leftover = super()._parse_style_rules(css_body, ruleset_index)
                    kept = _StyleLeftover(leftover)
                    kept.css = super()._css_rules_to_string(leftover) if leftover else ""
                    if len(self._sheets) >= self._MAX_SHEETS:
                        self._sheets.clear()
                    hit = self._sheets[key] = (tuple(rules), kept)
        rules, leftover = hit
        return list(rules), leftover

    def _css_rules_to_string(self, rules: Sequence[Any]) -> str:
        if isinstance(rules, _StyleLeftover):
            return rules.css
        css: str = super()._css_rules_to_string(rules)
        return css


_PREMAILER_OPTIONS = dict(
    base_url=None,  # no link rewriting: every URL in a digest is absolute already
    remove_classes=False,
    strip_important=False,  # the media query needs !important to beat inlined widths
    keep_style_tags=False,  # rules that cannot be inlined are still kept as leftovers
    cssutils_logging_level=logging.CRITICAL,
    allow_network=False,
    allow_loading_external_files=False,
    disable_validation=True,
)
# transform() keeps no per-call state on the instance, so one serves every call.
_PREMAILER = _Premailer(**_PREMAILER_OPTIONS)


def inline_css(html_text: str) -> str:
    """Copy the <style> rules onto the elements (Gmail and Outlook honour little else)."""
    inlined: str = _PREMAILER.transform(html_text)
    return inlined


def digest_language(digest: Digest) -> str:
    """The language `digest`'s fixed words are written in: its reader's, else its list's, else Chinese."""
    return reader_language(digest.language, digest.list.language)


def _preheader(digest: Digest, t: Callable[..., str]) -> str:
    lines = [f"{a.region_label} | {a.title}" for s in digest.sections for a in s.articles[:1]]
    text = t("digest_list_separator").join(lines[:3])
    count = t("digest_count", count=digest.article_count)
    return f"{count}{t('digest_colon')}{text}" if text else count


@dataclass(frozen=True)
class _Shown:
    """What the mail shows of one article: its body HTML (sanitised), and where its whole text is, if cut."""

    body_html: str
    more_url: str = ""


def _shower(digest: Digest, leads: bool) -> Callable[[Article], _Shown]:
    def shown(article: Article) -> _Shown:
        # The public page holds every article whole, each at its anchor; a digest of no numbered
        # issue (a preview) links the source instead, and an article with neither link is mailed whole.
        more_url = f"{digest.web_url}#a{article.id}" if digest.web_url else (article.url or "")
        if not leads or not more_url:
            return _Shown(article.body_html)
        lead = article_lead(article.body_html)
        return _Shown(lead.html, more_url) if lead.shortened else _Shown(article.body_html)

    return shown


def _context(digest: Digest, public: bool = False) -> dict[str, object]:
    language = digest_language(digest)
    t = digest_words(language)
    return {
        "shown": _shower(digest, digest.list.article_text == "lead" and not public),
        "digest": digest,
        "list": digest.list,
        "lang": language,
        "t": t,
        "sections": [s for s in digest.sections if s.articles],
        "period": period_words(digest.period_start, digest.period_end, language),
        "preheader": _preheader(digest, t),
        "person": _PERSON,
        "links": _LINKS,
        # The text part is not wrapped: a paragraph is one line, which every client wraps to its own
        # width (it travels base64, so its length is no matter on the wire). The rule fits a phone.
        "rule": "━" * 16,
        "width": 0,  # for templates copied before: wrap(width) and as_text(width) now leave lines whole
    }


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{4,}", "\n\n\n", text).strip("\n") + "\n"


DIGEST_TEMPLATES = ("digest.subject.txt", "digest.html", "digest.txt")


def _render_templates(digest: Digest, env: jinja2.Environment, public: PublicCopy | None = None) -> RenderedDigest:
    ctx = _context(digest, public is not None)
    if public is not None:
        ctx.update(person=None, links=None, subscribe_url=public.subscribe_url, archive_url=public.archive_url)
    subject_template, html_template, text_template = (env.get_template(name) for name in DIGEST_TEMPLATES)
    return RenderedDigest(
        # A subject is one header line whatever the template does.
        subject=" ".join(subject_template.render(ctx).split()),
        html=html_template.render(ctx),
        text=_tidy_text(text_template.render(ctx)),
    )


class TemplateFault(SetupError):
    """The digest templates are missing or broken: no subscriber can get a message until they are fixed."""


def _templates_where(env: jinja2.Environment) -> str:
    paths = getattr(env.loader, "searchpath", None)
    return ", ".join(map(str, paths)) if paths else repr(env.loader)


@dataclass(frozen=True)
class PublicCopy:
    """Where nobody's copy of an issue (the public archive's) sends a reader in place of personal links."""

    subscribe_url: str
    archive_url: str


def render_content(digest: Digest, env: jinja2.Environment, public: PublicCopy | None = None) -> RenderedDigest:
    """Subject, HTML (CSS inlined) and text of `digest`, with markers for the personal parts; a `public` copy
    has none (no greeting, no address, links to subscribe and to the archive).

    Raises TemplateFault when the templates are missing or fail: content depends on
    no subscriber, so such a fault is the installation's, never one delivery's.
    """
    try:
        rendered = _render_templates(digest, env, public)
    except jinja2.TemplateNotFound as exc:
        raise TemplateFault(
            f"template {exc.name!r} not found in {_templates_where(env)} "
            "(is the package installed whole? is DIGEST_TEMPLATES_DIR right?)"
        ) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateFault(f"template {exc.filename or exc.name}, line {exc.lineno}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateFault(f"the digest templates in {_templates_where(env)} failed: {exc!r}") from exc
    return RenderedDigest(rendered.subject, inline_css(rendered.html), rendered.text)


def _values(recipient: Recipient) -> dict[str, str]:
    # Collapsing whitespace keeps a stray newline in a stored name out of headers and layout.
    name = " ".join((recipient.name or "").split())
    return {
        "GREETING": greeting(name, recipient.language),
        "NAME": name,
        "EMAIL": recipient.email.strip(),
        "FOLLOWING": " ".join(recipient.following.split()),
        "UNSUBSCRIBE_URL": recipient.unsubscribe_url,
        "UNSUBSCRIBE_MAILTO": recipient.unsubscribe_mailto,
        "PREFERENCES_URL": recipient.preferences_url,
        "VIEW_URL": recipient.view_url,
    }


def personal_values(recipient: Recipient) -> tuple[dict[str, str], dict[str, str]]:
    """What each marker becomes for `recipient`: as text, and escaped for HTML."""
    raw = _values(recipient)
    return raw, {k: html.escape(v, quote=True) for k, v in raw.items()}


def marker_pieces(text: str) -> list[str]:
    """`text` cut at its markers: static text at even positions, field names at odd ones."""
    return _MARKER_RE.split(text)


def personalise(rendered: RenderedDigest, recipient: Recipient) -> RenderedDigest:
    """`rendered` with its markers replaced by `recipient`'s name, address and links."""
    raw, escaped = personal_values(recipient)
    # One pass, so a name that spells a marker is not itself replaced.
    return RenderedDigest(
        subject=_MARKER_RE.sub(lambda m: " ".join(raw[m.group(1)].split()), rendered.subject),
        html=_MARKER_RE.sub(lambda m: escaped[m.group(1)], rendered.html),
        text=_MARKER_RE.sub(lambda m: raw[m.group(1)], rendered.text),
    )


def render_digest(digest: Digest, recipient: Recipient, env: jinja2.Environment) -> RenderedDigest:
    """One subscriber's digest; callers sending many should keep `render_content` per content key."""
    if not recipient.language:  # greeted in the language the rest of their copy is written in
        recipient = dataclasses.replace(recipient, language=digest_language(digest))
    return personalise(render_content(digest, env), recipient)
