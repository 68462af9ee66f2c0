"""Named subscribers that make fixtures readable.

Each persona's picks are written as people write them; the codes beside them
are the six-digit division codes they resolve to.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.services.lists import DEFAULT_TOPICS


@dataclass(frozen=True)
class Persona:
    email: str
    name: str
    regions: tuple[str, ...]  # as written
    region_codes: frozenset[str]
    topics: tuple[str, ...]  # topic slugs
    locale: str = "zh-CN"  # the language they chose to read


# National news only: 财政部 and 国家卫健委 articles, nothing provincial.
WANG_NATIONAL = Persona("wang.fang@example.cn", "王芳", ("全国",), frozenset({"000000"}), ())
# A province: every 湖南 article, 怀化's and 邵阳's included.
LI_HUNAN = Persona("li.wei@example.cn", "李伟", ("湖南",), frozenset({"430000"}), ())
# A city: 安康 news, and the province-wide 陕西 news that contains it.
ZHANG_ANKANG = Persona("zhang.min@example.cn", "张敏", ("安康",), frozenset({"610900"}), ())
# A county: 汉滨区 is inside 安康, so 安康's news reaches her.
CHEN_HANBIN = Persona("chen.jing@example.cn", "陈静", ("汉滨区",), frozenset({"610902"}), ())
# Topic only, every region: all 产业发展 and 公共服务 articles.
LIU_TOPICS = Persona("liu.yang@example.cn", "刘洋", (), frozenset(), ("industry", "public-services"))
# Picks that match nothing in the sample week: 西藏 and 人居环境.
ZHAO_NOTHING = Persona("zhao.lei@example.cn", "赵磊", ("西藏",), frozenset({"540000"}), ("living-environment",))

ALL = (WANG_NATIONAL, LI_HUNAN, ZHANG_ANKANG, CHEN_HANBIN, LIU_TOPICS, ZHAO_NOTHING)

# Chose English: 湖南's news, as 李伟 gets it, with every word the digest writes in English. Not in ALL.
ALEX_ENGLISH = Persona("alex.morgan@example.org", "Alex", ("湖南",), frozenset({"430000"}), (), locale="en")

# The default list's sections, in the sample's order.
TOPICS = DEFAULT_TOPICS


@dataclass(frozen=True)
class Staff:
    email: str
    password: str
    role: str


# Runs the newsletter: every page of the console.
ZHOU_ADMIN = Staff("zhou.admin@example.cn", "zhou-admin-passphrase", "admin")
# Edits articles and issues; lists and subscribers are not hers.
SUN_EDITOR = Staff("sun.editor@example.cn", "sun-editor-passphrase", "editor")


def subscribe_confirmed(session, ml, regions, people=ALL) -> None:
    """Each persona subscribed to `ml` with their picks, already confirmed."""
    from digest.services.subscribers import upsert_subscription

    for p in people:
        upsert_subscription(
            session,
            ml,
            regions,
            email=p.email,
            name=p.name,
            region_labels=p.regions,
            topic_labels=p.topics,
            status="confirmed",
            locale=p.locale,
        )
