"""Which divisions an article is about, read from its title and text.

Precision first: a wrong region is worse than none. A province's name, a full name of three characters or
more (沅陵县; 恩施州, 酉阳县 as divisions.names_of gives them) and a short name of three or more count alone;
a two-character short name of a city or a county-level city (怀化, 义乌) counts alone where a word starts
(at the start, after punctuation or after 在, 到, 与 …; not inside 巩固原有 or 弘扬中华), unless it is also an
everyday word (COMMON_WORD_NAMES: 振兴, 合作, 江山), which counts only right after its province or city.
Any other two-character name (临泽, 沅陵) counts right after its province or city (甘肃临泽) or when the
text names its province or city elsewhere. A name that could be several divisions (朝阳区, 吉林) takes the
one whose surroundings the rest of the text names; failing that the larger if it holds all the others (吉林
the province), else nothing. Central bodies (农业农村部) mean 全国 when the article names no place of its
own as often.

Then the most specific set the mentions support (a mention in the title weighs three in the text, one of a
list, 台州、金华等地, half): the provinces named at least half as often as the most named one, and within
each, the divisions named at least half as often as their most named sibling, as long as they are named at
least half as often as the division above them (a quarter when they are the only one named inside it).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass

from digest.core.divisions import is_body, is_central, names_of
from digest.core.domain import NATIONAL_CODE
from digest.core.regions import RegionIndex
from digest.core.tagging.place_words import (
    CENTRAL_BODY,
    COMMON_WORD_NAMES,
    PAIR,
    PROVINCE_LETTERS,
    WORD_STARTS_AFTER,
    names_something_else,
)

TITLE_WEIGHT = 3.0
BODY_WEIGHT = 1.0
# A pair of provinces (闽宁协作) is the subject more surely than one passing name.
PAIR_WEIGHT = 2.0
# Kept: at least this share of the most named at the same level.
KEEP_SHARE = 0.5
LISTED = 0.5
ONLY_BRANCH_SHARE = 0.25
NO_PLACE = "no place named"

_ALONE, _AT_WORD_START, _WITH_CONTEXT, _ONLY_AFTER_PARENT = "alone", "word-start", "context", "after-parent"


@dataclass(frozen=True, slots=True)
class RegionFinding:
    """The regions found (six-digit codes, 全国 as NATIONAL_CODE), the words that decided, and why none."""

    codes: tuple[str, ...] = ()
    why: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class _Name:
    codes: tuple[str, ...]
    official: bool  # the official name of one of them (沅陵县), not only a short one (沅陵)
    province: bool
    strength: str


@dataclass(frozen=True, slots=True)
class _Mention:
    word: str
    codes: tuple[str, ...]
    strength: str
    weight: float
    bound: str | None  # the division it names, read from the name right before it (湖南邵阳 → 邵阳市)
    in_title: bool


class _Lexicon:
    """Every division's names, keyed for a left-to-right scan: the first two characters give the lengths to try."""

    def __init__(self, regions: RegionIndex):
        codes: dict[str, list[str]] = defaultdict(list)
        full: set[str] = set()
        provinces: set[str] = set()
        for region in regions:
            if region.code == NATIONAL_CODE:
                continue
            for name in names_of(region):
                codes[name].append(region.code)
            full.add(region.name)
            if region.level == "province":
                provinces.update((region.name, region.short_name))
        self.names: dict[str, _Name] = {}
        lengths: dict[str, set[int]] = defaultdict(set)
        for name, named in codes.items():
            strength = self._strength(name, named, name in provinces, regions)
            self.names[name] = _Name(tuple(named), name in full, name in provinces, strength)
            lengths[name[:2]].add(len(name))
        self.lengths = {start: tuple(sorted(sizes, reverse=True)) for start, sizes in lengths.items()}

    @staticmethod
    def _strength(name: str, codes: list[str], province: bool, regions: RegionIndex) -> str:
        if province:
            return _ALONE
        if name in COMMON_WORD_NAMES:
            return _ONLY_AFTER_PARENT
        if len(name) >= 3:
            return _ALONE
        towns = [regions.get(c) for c in codes]
        if any(r.level == "city" or r.name.endswith("市") for r in towns):
            return _AT_WORD_START
        return _WITH_CONTEXT


_LEXICONS: weakref.WeakKeyDictionary[RegionIndex, _Lexicon] = weakref.WeakKeyDictionary()


def _lexicon(regions: RegionIndex) -> _Lexicon:
    # Built once per index (some 10 ms), then shared by every article tagged with it.
    found = _LEXICONS.get(regions)
    if found is None:
        found = _LEXICONS[regions] = _Lexicon(regions)
    return found


def _scan(text: str, in_title: bool, lexicon: _Lexicon, regions: RegionIndex) -> list[_Mention]:
    """Division names left to right, longest first at each place, each bound to the name right before it."""
    mentions: list[_Mention] = []
    weight = TITLE_WEIGHT if in_title else BODY_WEIGHT
    i, end_of_last = 0, -1
    last_codes: tuple[str, ...] = ()
    while i < len(text) - 1:
        sizes = lexicon.lengths.get(text[i : i + 2])
        hit = None
        for size in sizes or ():
            name = lexicon.names.get(text[i : i + size])
            if name is not None:
                hit = text[i : i + size], name
                break
        if hit is None:
            typo = _misprint(text, i, mentions[-1].word, regions) if i == end_of_last else None
            if typo is not None:
                mentions.append(_Mention(typo[0], (typo[1],), _ALONE, weight, typo[1], in_title))
                i = end_of_last = i + len(typo[0])
                last_codes = (typo[1],)
                continue
            i += 1
            continue
        word, name = hit
        after = i + len(word)
        # A province's name is cut short only by a firm's words (湖南银行, not 湖南江永县).
        cut = names_something_else(text, after, name.official and not name.province, name.province)
        if cut and text[after : after + 2] not in lexicon.lengths:
            i, end_of_last = i + len(word), -1
            continue
        bound = _bind(name.codes, last_codes, regions) if i == end_of_last else None
        strength = name.strength
        if strength == _AT_WORD_START:
            strength = _ALONE if i == 0 or _starts_word(text[i - 1]) else _WITH_CONTEXT
        # One of a list (台州、金华等地) is an example more often than the subject.
        listed = text[after : after + 1] in ("、", "等")
        mentions.append(_Mention(word, name.codes, strength, weight * LISTED if listed else weight, bound, in_title))
        i = end_of_last = i + len(word)
        last_codes = (bound,) if bound else name.codes
    return mentions


def _starts_word(before: str) -> bool:
    return not "\u4e00" <= before <= "\u9fff" or before in WORD_STARTS_AFTER


def _misprint(text: str, at: int, before: str, regions: RegionIndex) -> tuple[str, str] | None:
    """江苏省沐阳县: a county one character from a real one right after its province, read as
    digest.core.regions reads such labels (沭阳县); (the word, its code) or None."""
    if text[at + 2 : at + 3] not in ("县", "市", "区", "旗"):
        return None
    found = regions.resolve(before + text[at : at + 2])
    if len(found.codes) == 1 and any(w.code == "region_typo" for w in found.warnings):
        return text[at : at + 3], found.codes[0]
    return None


def _bind(codes: tuple[str, ...], before: tuple[str, ...], regions: RegionIndex) -> str | None:
    inside = {c for c in codes for outer in before if c != outer and regions.contains(outer, c)}
    # 湖南邵阳 is 邵阳市, not 邵阳县 inside it: the outermost of those inside.
    outer = [c for c in inside if all(regions.contains(c, other) for other in inside)]
    return outer[0] if outer else None


class _Reading:
    """The mentions' divisions, once the text's own context has chosen among the candidates of each name."""

    def __init__(self, mentions: list[_Mention], regions: RegionIndex):
        self.regions = regions
        self.named: set[str] = set()
        for m in mentions:
            if m.bound or (m.strength == _ALONE and len(m.codes) == 1):
                self.named.add(m.bound or m.codes[0])
        self.around = {a for code in self.named for a in regions.ancestors(code)}
        self.chosen: list[tuple[_Mention, str]] = []
        self.doubts: list[str] = []
        for m in mentions:
            code = self._choose(m)
            if code is not None:
                self.chosen.append((m, code))

    def _holds_named(self, code: str) -> bool:
        return code in self.around

    def _inside_named(self, code: str, candidates: tuple[str, ...]) -> bool:
        # 吉林省 named elsewhere says nothing about which 吉林 this is: it is one of the candidates.
        return any(a in self.named and a not in candidates for a in self.regions.ancestors(code)[1:])

    def _choose(self, m: _Mention) -> str | None:
        if m.bound is not None:
            return m.bound
        if m.strength == _ONLY_AFTER_PARENT:
            return None
        if m.strength == _ALONE and len(m.codes) == 1:
            return m.codes[0]
        # The candidate holding a division named elsewhere (吉林 … 船营区: the city), the innermost such;
        # else those inside one named elsewhere (北京 … 朝阳区), the outermost.
        holding = [c for c in m.codes if self._holds_named(c)]
        if holding:
            return self._single(holding, m, innermost=True)
        inside = [c for c in m.codes if self._inside_named(c, m.codes)]
        if inside:
            return self._single(inside, m, innermost=False)
        if m.strength == _WITH_CONTEXT:
            return None
        # No context: 吉林 alone is the province, which holds the city; 朝阳区 alone is nobody's.
        return self._single(list(m.codes), m, innermost=False)

    def _single(self, codes: list[str], m: _Mention, innermost: bool) -> str | None:
        """The one of `codes` inside (or holding) all the others; None, with a doubt, if they are apart."""
        contains = self.regions.contains
        ends = [c for c in codes if all(contains(o, c) if innermost else contains(c, o) for o in codes)]
        if ends:
            return ends[0]
        self._doubt(m)
        return None

    def _doubt(self, m: _Mention) -> None:
        names = "、".join(self.regions.full_name(c) for c in m.codes)
        self.doubts.append(f"{m.word}: could be {names}")


def _pairs(text: str) -> list[tuple[str, str]]:
    """(word, province code) for each province of 闽宁协作, 京津冀协同 and the like."""
    found: list[tuple[str, str]] = []
    for match in PAIR.finditer(text):
        letters = match.group(1)
        if len(set(letters)) == len(letters):
            found.extend((letters, PROVINCE_LETTERS[ch]) for ch in letters)
    return found


def _central(text: str) -> list[str]:
    return [m.group(0) for m in CENTRAL_BODY.finditer(text) if is_central(m.group(0)) or is_body(m.group(0))]


def _most_specific(weights: dict[str, float], regions: RegionIndex) -> list[str]:
    """The provinces named about as often as the most named one, then within each the same, level by level."""
    totals: dict[str, float] = defaultdict(float)
    below: dict[str, set[str]] = defaultdict(set)
    for code, weight in weights.items():
        chain = regions.ancestors(code)
        for i, outer in enumerate(chain):
            totals[outer] += weight
            if i:
                below[outer].add(chain[i - 1])
    provinces = [code for code in totals if regions.get(code).parent_code is None]
    kept: list[str] = []
    for province in _leading(provinces, totals):
        kept.extend(_descend(province, weights, totals, below))
    return sorted(kept)


def _leading(codes: list[str], totals: dict[str, float]) -> list[str]:
    if not codes:
        return []
    best = max(totals[c] for c in codes)
    return [c for c in codes if totals[c] >= KEEP_SHARE * best]


def _descend(code: str, weights: dict[str, float], totals: dict[str, float], below: dict[str, set[str]]) -> list[str]:
    inner = list(below.get(code, ()))
    # A province named far more than any of its cities is the subject itself (湖南省 … 如台州、金华); one
    # city alone inside it needs less (海南 in the title, 琼海市博鳌镇 in the text: 琼海).
    share = KEEP_SHARE if len(inner) > 1 else ONLY_BRANCH_SHARE
    if not inner or max(totals[c] for c in inner) < share * weights.get(code, 0.0):
        return [code]
    return [found for c in _leading(inner, totals) for found in _descend(c, weights, totals, below)]


def _explain(chosen: list[tuple[str, str]], codes: list[str], regions: RegionIndex) -> tuple[str, ...]:
    """Each word that named a kept division or a division around it, once, as "word" or "word → name"."""
    why: dict[str, None] = {}
    for word, code in chosen:
        if any(regions.contains(code, kept) or regions.contains(kept, code) for kept in codes):
            name = regions.get(code).name
            why[word if word == name else f"{word} → {name}"] = None
    return tuple(why)


def find_regions(title: str, text: str, regions: RegionIndex) -> RegionFinding:
    """The divisions `title` and `text` (already reduced to text) are about; see the module docstring."""
    lexicon = _lexicon(regions)
    title_mentions = _scan(title, True, lexicon, regions)
    reading = _Reading(title_mentions + _scan(text, False, lexicon, regions), regions)
    chosen = [(m.word, code) for m, code in reading.chosen]
    weights: dict[str, float] = defaultdict(float)
    for m, code in reading.chosen:
        weights[code] += m.weight
    for part, weight in ((title, TITLE_WEIGHT), (text, PAIR_WEIGHT)):
        for word, code in _pairs(part):
            weights[code] += weight
            chosen.append((word, code))
    bodies_in_title = _central(title)
    title_is_local = any(m.in_title for m, _ in reading.chosen)
    if bodies_in_title and not title_is_local and not _pairs(title):
        return _national(bodies_in_title)
    bodies = _central(text)
    # Central bodies named more often than the most named province: a national text that gives examples.
    local = _province_totals(weights, regions)
    if bodies and len(bodies) * BODY_WEIGHT >= max(local, default=0.0):
        return _national(bodies)
    codes = _most_specific(weights, regions)
    if codes:
        return RegionFinding(tuple(codes), _explain(chosen, codes, regions))
    reason = "; ".join(dict.fromkeys(reading.doubts)) if reading.doubts else NO_PLACE
    return RegionFinding((), (), reason)


def _province_totals(weights: dict[str, float], regions: RegionIndex) -> list[float]:
    totals: dict[str, float] = defaultdict(float)
    for code, weight in weights.items():
        totals[regions.province_of(code)] += weight
    return list(totals.values())


def _national(bodies: list[str]) -> RegionFinding:
    return RegionFinding((NATIONAL_CODE,), tuple(f"{body} → 全国" for body in dict.fromkeys(bodies)))
