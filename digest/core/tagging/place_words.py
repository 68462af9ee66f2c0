"""Words around place names that the finder reads: what makes a name not a place, central bodies, pairs.

Plain tables an editor can read; digest.core.tagging.places applies them.
"""

from __future__ import annotations

import re

# A short name directly followed by one of these names a street, a town, a river or a lake, not the division:
# 中山路, 平川镇, 洪泽湖 (unless a division's name starts there: 宁波江北区). (Not 乡 or 村: 浙江乡村振兴
# is about 浙江; not 山: 沅陵山区 is in 沅陵.) A province's name is never cut short by these.
STREET_TAILS = (
    "路",
    "街",
    "大道",
    "巷",
    "胡同",
    "北路",
    "南路",
    "东路",
    "西路",
    "中路",
    "镇",
    "社区",
    "小区",
    "广场",
    "公园",
    "机场",
    "站",
    "江",
    "河",
    "湖",
    "岛",
    "峡",
    "湾",
    "精神",
    "会议",
)
# Any name directly followed by one of these names a firm, a school or a people: 湖南银行, 北京大学, 湖南籍.
# (分行 and 分公司 are absent on purpose: 工行浙江省分行 is in 浙江.)
FIRM_TAILS = (
    "银行",
    "农商行",
    "农商银行",
    "农村商业银行",
    "村镇银行",
    "集团",
    "高速",
    "航空",
    "股份",
    "控股",
    "实业",
    "有限",
    "大学",
    "学院",
    "卫视",
    "日报",
    "晚报",
    "籍",
    "商会",
    "队",
    "菜",
    "拉面",
    "小吃",
)


def _alternatives(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(sorted(map(re.escape, words), key=len, reverse=True)))


_STREET = _alternatives(STREET_TAILS + FIRM_TAILS)
_FIRM = _alternatives(FIRM_TAILS)
# A short name a few characters before 集团 or 公司 names a firm too: 广东温氏食品集团 is not news of 广东.
# (Not an official name: 怀化市城投公司 is 怀化's own.)
_FIRM_SOON = re.compile(r"[\u4e00-\u9fff]{0,4}?(?:集团|公司|银行|股份|控股)")


# A two-character name with one of these (or no Chinese character) right before it starts a word; after any
# other character it may be the second half of one: 巩固原有 is not 固原, 弘扬中华 not 扬中, 确保定期 not 保定.
WORD_STARTS_AFTER = frozenset("在赴到于从至与和及往去是的向为对把将让即进入自处抵达回返来")


def _words(text: str) -> list[str]:
    return text.split()


# Two-character names that are also everyday words (乡村振兴, 合作社, 江山, 安宁) or too easily met inside
# other words (搬迁安置): they count only right after their province or city (辽宁丹东振兴区 is still found
# by its full name), never alone.
COMMON_WORD_NAMES = frozenset(
    _words(
        """振兴 合作 新乡 资源 新建 富裕 延长 文成 新市 路桥 乌兰 光明 利通 金安 迁安 丹阳 会东 平川 城区 郊区 矿区
    长治 四平 白山 大庆 黑河 日照 北海 三沙 阿里 山南 海东 海北 海西 海南 黄南 普洱 怒江 安顺 白城 新余 三明
    中山 大同 白银 兴安 黄山 红河 大理 文山 玉树 江山 安宁 东方 新民 永安 天长 明光 界首 宁国 广德 乐平
    庐山 高安 德兴 平度 海阳 栖霞 新泰 永城 大冶 宜都 当阳 宜城 京山 安陆 洪湖 赤壁 广水 常宁 津市 开平
    阳春 英德 普宁 东兴 北流 平果 合山 赤水 福泉 水富 开远 瑞丽 兴平 华阴 神木 玉门 同仁 灵武 乌苏 沙湾
    双河 新星 白杨 新乐 武安 安国 平泉 三河 高平 怀仁 原平 孝义 丰镇 海城 东港 凤城 北镇 灯塔 开原 北票
    兴城 榆树 磐石 集安 临江 大安 龙井 和龙 尚志 五常 铁力 同江 海林 宁安 东宁 北安 安达 海伦 兴化 靖江
    龙港 海宁 平湖 东阳 永康 玉环 龙泉 无为 南安 贵溪 丰城 樟树 昌邑 肥城 荣成 乐陵 临清 新密 义马 灵宝
    项城 枝江 汉川 石首 韶山 资兴 台山 鹤山 恩平 连州 罗定 江油 射洪 华蓥 万源 仁怀 个旧 米林 阜康 城关
    和平 新华 长安 通道 江南 河西 城中 城东 城西 城北 市中 新城 金山 青山 白云 西湖 南山 朝阳 新兴 大方
    安定 平安 康乐 和顺 富民 民和 共和 太和 兴业 乐业 向阳 前进 东风 友好 红旗 建华 民权 民乐 永和 安化
    城步 开化 兴国 宁乡 东乡 桥西 桥东 河东 江北 新区 高新 经开 沙县 南县 新县 和县 兴县 临县 宁县 成县
    文县 康县 礼县 富县 洋县 环县 古县 吉县 云县 高县 荣县 容县 道县 义县 宾县 丰县 寿县 息县 房县 随县
    河源 来宾 开封 海口 高密 南部 中原 解放 二七 南海 天山 故城 大名 文昌 弥勒 太白 宝塔 雁塔 梁山 仙桃
    仙居 金牛 卧龙 天台 泰山 普陀 鼎湖 霍山 井冈山"""
    )
)

# One-character names of provinces, as in 闽宁协作, 沪滇协作, 京津冀. Only read inside PAIR below.
PROVINCE_LETTERS = {
    "京": "110000",
    "津": "120000",
    "冀": "130000",
    "晋": "140000",
    "蒙": "150000",
    "辽": "210000",
    "吉": "220000",
    "黑": "230000",
    "沪": "310000",
    "苏": "320000",
    "浙": "330000",
    "皖": "340000",
    "闽": "350000",
    "赣": "360000",
    "鲁": "370000",
    "豫": "410000",
    "鄂": "420000",
    "湘": "430000",
    "粤": "440000",
    "桂": "450000",
    "琼": "460000",
    "渝": "500000",
    "川": "510000",
    "黔": "520000",
    "滇": "530000",
    "藏": "540000",
    "陕": "610000",
    "甘": "620000",
    "青": "630000",
    "宁": "640000",
    "新": "650000",
}
_LETTERS = "".join(PROVINCE_LETTERS)
# Two or three letters and a word of cooperation: 闽宁协作, 沪滇对口帮扶, 京津冀协同, 粤桂合作.
PAIR = re.compile(rf"(?<![{_LETTERS}])([{_LETTERS}]{{2,3}})(?=协作|对口|协同|合作|扶贫协作|帮扶|共建|携手)")

# Central bodies: their news is national unless the article names a place of its own. 国家 bodies are
# checked with digest.core.divisions.is_central; ministries do not start with 国家, so they are listed.
_MINISTRIES = (
    "农业农村|财政|民政|教育|商务|科技|科学技术|公安|司法|自然资源|生态环境|住房和城乡建设|住建|交通运输|水利|"
    "应急管理|退役军人事务|人力资源社会保障|人力资源和社会保障|人社|工业和信息化|工信|文化和旅游|文旅|外交|审计"
)
CENTRAL_BODY = re.compile(
    rf"(?<![省市县区州旗盟厅局])(?:(?:{_MINISTRIES})部(?!门|署)|审计署)"
    r"|(?:中共中央|党中央|国务院)(?:办公厅|扶贫办|新闻办)?"
    r"|国家(?!级)[\u4e00-\u9fff]{1,10}?(?:总局|局|委员会|委|署)"
    r"|中国人民银行|银保监会|证监会|全国妇联|共青团中央|中央农办|中央一号文件"
)


def names_something_else(text: str, end: int, official: bool, province: bool) -> bool:
    """Whether the name ending at `end` is part of a firm's name (or, for a short name but a province's, a
    street's, a town's, a river's)."""
    if official:
        return _FIRM.match(text, end) is not None
    tails = _FIRM if province else _STREET
    return tails.match(text, end) is not None or _FIRM_SOON.match(text, end) is not None
