"""The review queue's words ("待审核"), in Chinese (the default) and English."""

from __future__ import annotations

from digest.web.i18n import add_words

add_words(
    {
        "zh-CN": {
            "rev_title": "待审核",
            "rev_intro": "以下文章的地区或栏目由自动标注得出，把握不足或未找到地名。确认前它们不会进入任何一期。",
            "rev_none": "没有待审核的文章。",
            "rev_count": "待审核 {count} 篇",
            "rev_suggested": "建议",
            "rev_regions": "地区",
            "rev_regions_help": "用顿号或逗号分隔，如：湖南怀化、沅陵县、全国",
            "rev_topic": "栏目",
            "rev_confidence": "把握 {percent}%",
            "rev_why": "依据：{words}",
            "rev_no_place": "未找到地名",
            "rev_confirm": "确认",
            "rev_confirmed": "已确认，文章将进入所在周的一期。",
            "rules_title": "栏目标注规则",
            "rules_intro": "每行一个关键词和它的权重（如“合作社 3”）。标题中的词算三次。清空一栏即恢复默认规则。",
            "rules_default": "默认",
            "rules_save": "保存规则",
            "rules_saved": "规则已保存，之后标注的文章按新规则归入栏目。",
            "rules_errors": "有规则未能保存，请看标出的栏目。",
            "rules_err_line": "第 {line} 行“{text}”不是“关键词 权重”（权重大于 0、至多 100，关键词至多 20 字）。",
            "rules_err_topic": "没有栏目 {topic}。",
            "lists_review_below": "自动标注待审核线",
            "lists_review_below_help": "自动标注的栏目把握低于此值（0 到 1）时，文章先进入“待审核”；未找到地名的文章总是待审核。",
            "lists_err_review_below": "待审核线请填写 0 到 1 之间的数。",
            "lists_bounce_domain": "退信域名",
            "lists_bounce_domain_help": (
                "每封邮件的退信地址（VERP）所在的域名，其 MX 须把所有地址投到退信邮箱；留空则用站点的 DIGEST_BOUNCE_DOMAIN。"
            ),
            "lists_err_bounce_domain": "“{value}”不是域名（例如 bounce.example.org）。",
            "lists_bounce_threshold": "软退信停发分数",
            "lists_bounce_threshold_help": (
                "暂时性退信（如邮箱已满）每天最多计 1 分，分数每 60 天减半；达到此分数即停止向该地址发信。0 表示从不。"
            ),
            "lists_err_bounce_threshold": "停发分数请填写 0 到 {max} 之间的数。",
        },
        "en": {
            "rev_title": "To review",
            "rev_intro": "These articles were placed by the tagger with little confidence, or not placed at all. They go into no issue until confirmed.",
            "rev_none": "No article waits for review.",
            "rev_count": "{count} to review",
            "rev_suggested": "Suggested",
            "rev_regions": "Regions",
            "rev_regions_help": "Region names as the newsletter writes them, or codes, separated by commas.",
            "rev_topic": "Topic",
            "rev_confidence": "confidence {percent}%",
            "rev_why": "because of: {words}",
            "rev_no_place": "no place found",
            "rev_confirm": "Confirm",
            "rev_confirmed": "Confirmed: the article goes into its week's issue.",
            "rules_title": "Topic rules",
            "rules_intro": "A keyword and its weight a line (a keyword, a space, a number). A word in the title counts three times. Empty a topic's box to go back to the default rules.",
            "rules_default": "default",
            "rules_save": "Save the rules",
            "rules_saved": "Rules saved: articles tagged from now on are sorted by them.",
            "rules_errors": "Some rules were not saved: see the topics marked.",
            "rules_err_line": "Line {line}, “{text}”, is not “keyword weight” (a weight above 0, at most 100; a keyword of at most 20 characters).",
            "rules_err_topic": "There is no topic {topic}.",
            "lists_review_below": "Review below",
            "lists_review_below_help": "A tagged article whose topic confidence is under this (0 to 1) waits for review first; one with no place found always waits.",
            "lists_err_review_below": "Enter the review threshold as a number from 0 to 1.",
            "lists_bounce_domain": "Bounce domain",
            "lists_bounce_domain_help": (
                "The domain each copy's return path (VERP) is on; its MX must deliver every address to the bounce "
                "mailbox. Empty: the site's DIGEST_BOUNCE_DOMAIN."
            ),
            "lists_err_bounce_domain": '"{value}" is not a domain name (e.g. bounce.example.org).',
            "lists_bounce_threshold": "Soft-bounce threshold",
            "lists_bounce_threshold_help": (
                "A temporary bounce (a full mailbox) adds at most 1 a day, and the score halves every 60 days; "
                "at this score the address is no longer sent to. 0: never."
            ),
            "lists_err_bounce_threshold": "The threshold is a number from 0 to {max}.",
        },
    }
)
