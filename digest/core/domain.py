"""Plain data shared by the core: no I/O, no SQLAlchemy, no Jinja.

Everything the pure functions (selection, assembly, rendering, message
building) take and return is one of these frozen dataclasses, so they can be
built by hand in tests and passed between processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

NATIONAL_CODE = "000000"
NATIONAL_NAME = "全国"

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Region:
    """One administrative division (or 全国)."""

    code: str  # six digits, GB/T 2260 style: 430000 province, 431200 city, 431222 county
    name: str  # official name: 湖南省, 怀化市, 沅陵县, 全国
    short_name: str  # as people write it: 湖南, 怀化, 沅陵, 全国
    level: str  # "national" | "province" | "city" | "county"
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem found in input, located precisely enough to fix it."""

    message: str
    source: str = ""  # file name, or "<stdin>", or "row 3 of the form"
    line: int | None = None
    field: str | None = None
    severity: Severity = "error"  # "error": the item was not kept; "warning": kept, with a doubt
    # What went wrong as data, so a page can say it in its reader's language; `message`
    # stays the English wording for the CLI and logs. None for problems nobody coded yet.
    code: str | None = None
    # Pairs rather than a dict keep Problem hashable; a mapping given here is turned into pairs.
    params: tuple[tuple[str, str], ...] = ()

    if TYPE_CHECKING:
        # The generated __init__ as mypy should see it: `params` also takes a mapping, which
        # __post_init__ turns into pairs (the field itself always holds pairs).
        def __init__(
            self,
            message: str,
            source: str = "",
            line: int | None = None,
            field: str | None = None,
            severity: Severity = "error",
            code: str | None = None,
            params: tuple[tuple[str, str], ...] | Mapping[str, object] = (),
        ) -> None: ...

    def __post_init__(self) -> None:
        if isinstance(self.params, Mapping):
            object.__setattr__(self, "params", tuple((k, str(v)) for k, v in self.params.items()))

    def __str__(self) -> str:
        where = self.source or "input"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.severity}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    """An article as read from a file, before its topic and regions are resolved."""

    title: str
    body_html: str  # already sanitised
    topic: str  # as written: 产业发展, or a topic slug; "" when the file gave none (the tagger's to find)
    regions: tuple[str, ...]  # labels as written: ("河北石家庄",) or ("湖南", "怀化"); () for the tagger
    region_label: str  # what the newsletter shows before the title: 河北石家庄
    published: datetime | None = None
    source: str | None = None
    url: str | None = None
    line: int | None = None  # where it starts in its file


@dataclass(frozen=True, slots=True)
class ParseResult:
    articles: tuple[ParsedArticle, ...]
    problems: tuple[Problem, ...] = ()
    # Newsletter text only: footer credits such as (("制作", "…"), ("责任编辑", "…")).
    credits: tuple[tuple[str, str], ...] = ()
    contact_email: str | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class ListInfo:
    """A newsletter list and its branding, as the renderer needs it."""

    slug: str
    name: str
    topics: tuple[Topic, ...]  # in section order
    sender_name: str = ""
    sender_email: str = "digest@localhost"
    reply_to: str | None = None
    masthead: str = ""  # defaults to name
    tagline: str = ""
    credits: tuple[tuple[str, str], ...] = ()  # (("制作", "…"), ("责任编辑", "…"), ("审核", "…"))
    contact_email: str | None = None
    postal_address: str | None = None
    language: str = "zh-CN"
    # How much of each article the mail carries: "lead" (its first paragraph, with a link to the whole
    # on the issue's public page) or "full". Pages (the archive, "view in browser") always show it whole.
    article_text: str = "full"


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article as the core sees it."""

    id: int
    topic: str  # topic slug
    title: str
    body_html: str  # sanitised
    region_codes: tuple[str, ...]
    region_label: str
    published: datetime
    source: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Picks:
    """A subscriber's choices on one list. Empty means "everything"."""

    regions: frozenset[str] = frozenset()  # region codes
    topics: frozenset[str] = frozenset()  # topic slugs


@dataclass(frozen=True, slots=True)
class Section:
    topic: Topic
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """One issue's content as one subscriber (or everyone alike) gets it."""

    list: ListInfo
    period_start: date
    period_end: date
    sections: tuple[Section, ...]
    issue_number: int | None = None
    # The issue's public page (the archive), once it has a number: its contents link there, the same
    # URL for every reader, so a link that works in every mail app costs no personal insert.
    web_url: str = ""
    # The language its fixed words are written in (its reader's); "" for the list's.
    language: str = ""

    @property
    def article_ids(self) -> tuple[int, ...]:
        """The content key: two subscribers with equal keys get identical content."""
        return tuple(a.id for s in self.sections for a in s.articles)

    @property
    def article_count(self) -> int:
        return sum(len(s.articles) for s in self.sections)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a message goes to, and their personal links (each carries a signed token)."""

    email: str
    name: str = ""
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""
    preferences_url: str = ""
    view_url: str = ""
    following: str = ""  # what they follow, in words: 湖南 · 全国｜全部栏目
    language: str = ""  # what their greeting is worded in: their digest's language ("" for Chinese)


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """Subject, HTML (CSS inlined) and text of a digest."""

    subject: str
    html: str
    text: str


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What a transport reports after accepting a message."""

    where: str  # Maildir path, or "smtp://host:port 250 2.0.0 Ok: queued as …"
    extra: dict[str, str] = field(default_factory=dict)
