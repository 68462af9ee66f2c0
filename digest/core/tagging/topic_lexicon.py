"""Built-in keywords for the usual sections of a rural-revitalisation weekly, with weights from 1 to 4.

Each section is found in a list by its slug or by words of its name (宏观形势, 产业发展 …); the list's own
topic name is added as a keyword too (digest.core.tagging.topics.default_rules). Editors change the result,
not this table.
"""

from __future__ import annotations


def _weights(text: str) -> dict[str, float]:
    """'产业:3 合作社:3 …' → {"产业": 3.0, "合作社": 3.0, …}: one line per section reads better than a dict."""
    pairs = (item.split(":") for item in text.split())
    return {word: float(weight) for word, weight in pairs}


# (slugs and name words that identify the section, keywords)
SECTIONS: tuple[tuple[frozenset[str], dict[str, float]], ...] = (
    (
        frozenset({"macro", "policy", "宏观", "形势", "政策", "要闻"}),
        _weights(
            "印发:3 实施意见:3 指导意见:3 一号文件:3 国务院:3 意见:2 部署:2 通知:2 政策:2 规划:2 中央:2 党中央:2 "
            "会议精神:2 决策部署:2 顶层设计:2 文件:2 全面推进:2 十四五:2 条例:2 纲要:2 粮食安全:2 政策体系:2 "
            "总体:1 战略:1 各地:1 体系:1 部门:1 联合:1 过渡期:1 统筹:1 要求:1 会议:1 领导小组:1 方案:1 出台:1 "
            "发布:1 数据:1 经济:1 全国:1 城乡融合:2 行动计划:2"
        ),
    ),
    (
        frozenset({"poverty", "poverty-alleviation", "脱贫", "扶贫", "攻坚", "帮扶", "巩固"}),
        _weights(
            "脱贫:3 扶贫:3 返贫:3 就业帮扶:3 易地扶贫搬迁:3 防止返贫:3 扶贫车间:3 消费帮扶:3 定点帮扶:3 "
            "东西部协作:3 帮扶:2 贫困:2 脱贫攻坚:2 搬迁:2 安置点:2 监测:2 低收入:2 兜底:2 社区工厂:2 稳岗:2 "
            "务工:2 劳务:2 就业:2 对口:2 摘帽:2 驻村:2 第一书记:2 脱贫户:2 易地搬迁:3 搬迁群众:2 "
            "安置社区:2 成果:1"
        ),
    ),
    (
        frozenset({"industry", "economy", "产业", "经济", "发展"}),
        _weights(
            "产业:3 合作社:3 特色产业:3 龙头企业:3 产业园:3 乡村旅游:3 种植:2 养殖:2 贷款:2 信贷:2 金融:2 融资:2 "
            "担保:2 电商:2 直播:2 农产品:2 品牌:2 加工:2 基地:2 产值:2 订单:2 旅游:2 民宿:2 产量:2 设施农业:2 "
            "冷链:2 游客:2 冷库:2 育苗:2 远销:2 大棚:2 果园:2 畜牧:2 渔业:2 增收:1 致富:1 销售:1 亩:1 茶:1 "
            "市场:1 企业:1 投资:1 项目:1 收购:1 农业:1 丰收:1 物流:1 蔬菜:1 水果:1"
        ),
    ),
    (
        frozenset({"living-environment", "environment", "ecology", "人居", "环境", "生态"}),
        _weights(
            "人居环境:4 改厕:4 厕所:3 垃圾:3 污水:3 村容村貌:3 卫生厕所:3 黑臭水体:3 整治:2 绿化:2 美化:2 亮化:2 "
            "清洁:2 粪污:2 化粪池:2 生态宜居:2 保洁:2 庭院:2 植树:2 河道:2 美丽乡村:2 风貌:2 农房:2 环境:1 分类:1"
        ),
    ),
    (
        frozenset({"governance", "治理", "党建", "基层"}),
        _weights(
            "基层治理:4 村规民约:4 移风易俗:4 治理:3 党建:3 乡风文明:3 德治:3 村民议事:3 网格:3 "
            "红白理事会:3 党群服务中心:3 调解:3 矛盾纠纷:3 积分制:3 积分超市:3 村务公开:3 "
            "陈规陋习:3 高价彩礼:3 自治:2 法治:2 议事:2 "
            "村两委:2 乡贤:2 民主:2 平安:2 道德模范:2 积分:2 选举:2 换届:2 文明实践:3 宣讲:2 文明:1 "
            "志愿:1 宣传:1"
        ),
    ),
    (
        frozenset({"public-services", "services", "公共", "服务", "民生"}),
        _weights(
            "医疗:3 卫生院:3 卫生室:3 诊疗:3 义诊:3 看病:3 医保:3 养老:3 基本公共服务:3 健康:2 医生:2 教育:2 "
            "学校:2 教师:2 学生:2 幼儿园:2 供水:2 饮水:2 公交:2 客运:2 宽带:2 文化站:2 托育:2 社保:2 医院:2 "
            "便民:2 体育:2 健身:2 道路:1 快递:1 网络:1 专家:1 服务中心:1 基础设施:1 文化:1"
        ),
    ),
)
