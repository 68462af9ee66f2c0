"""The sender page's words (zh-CN first, en): bounce and complaint rates, suppressions, unread mail, sources."""

from __future__ import annotations

from digest.web.i18n import add_words

# What put an address on the suppression list (models.Suppression.kind).
SUPPRESSION_KINDS = ("admin", "bounce", "hard_bounce", "complaint", "soft_bounce", "import")

add_words(
    {
        "zh-CN": {
            "nav_sender": "发信状况",
            "snd_title": "发信状况",
            "snd_help": (
                "退信和投诉过多会让邮箱服务商把本刊当作垃圾邮件。这里按期、按周列出退信率和投诉率，"
                "并与服务商的标准对照。"
            ),
            "snd_list": "邮件列表",
            "snd_all_lists": "全部列表",
            "snd_show": "查看",
            "snd_thresholds": (
                "投诉率：Gmail 和 Yahoo 自 2024 年 2 月起要求群发者保持在 {target} 以下，且绝不能达到 {limit}。"
                "退信率：服务商没有公布标准，{warning} 是业内常用的警戒线，并非服务商的规定。"
            ),
            "snd_rates_note": "发出数包括发送时被拒收的邮件；退信率 =（硬退信 + 发送时被拒）÷ 发出数。",
            "snd_issues_title": "各期退信与投诉（近 {n} 期）",
            "snd_weeks_title": "每周退信与投诉（近 {n} 周，按 {zone} 时间）",
            "snd_issues_none": "还没有发出的期刊。",
            "snd_col_issue": "期刊",
            "snd_col_week": "周",
            "snd_col_sent": "发出",
            "snd_col_refused": "发送时被拒",
            "snd_col_hard": "硬退信",
            "snd_col_soft": "软退信",
            "snd_col_complaints": "投诉",
            "snd_col_unsubscribes": "邮件退订",
            "snd_col_auto": "自动回复",
            "snd_col_bounce_rate": "退信率",
            "snd_col_complaint_rate": "投诉率",
            "snd_issue": "{name} 第{number}期",
            "snd_week": "{week}（{start} 起）",
            "snd_nothing_sent": "无发出",
            "snd_bounce_over": "已达到或超过 {warning} 警戒线",
            "snd_bounce_ok": "低于 {warning}",
            "snd_complaint_over_limit": "已达到或超过 {limit} 上限",
            "snd_complaint_over_target": "已达到或超过 {target}，应保持在其以下",
            "snd_complaint_ok": "低于 {target}",
            "snd_supp_title": "屏蔽名单（最近 {n} 个）",
            "snd_supp_help": "这些地址在任何列表都不会再收到邮件。完整名单可在屏蔽名单页面搜索、添加和撤销。",
            "snd_supp_all": "打开完整的屏蔽名单（共 {total} 个）",
            "snd_col_email": "邮箱",
            "snd_col_reason": "原因",
            "snd_col_kind": "来源",
            "snd_col_event": "依据的事件",
            "snd_col_added": "加入时间",
            "snd_supp_undo": "移出",
            "snd_supp_none": "屏蔽名单是空的。",
            "snd_kind_admin": "管理员添加",
            "snd_kind_bounce": "发送时被拒",
            "snd_kind_hard_bounce": "硬退信",
            "snd_kind_complaint": "投诉",
            "snd_kind_soft_bounce": "软退信累计超限",
            "snd_kind_import": "导入",
            "snd_event": "第 {id} 号事件，来自 {source}",
            "snd_unparsed_title": "无法识别的邮件（{total} 封）",
            "snd_unparsed_help": (
                "退信邮箱里既不是退信、投诉、自动回复，也不是退订请求的邮件留在这里（也仍在邮箱中），"
                "等人查看后标记为已处理。"
            ),
            "snd_unparsed_none": "没有待处理的邮件。",
            "snd_col_received": "收到时间",
            "snd_col_from": "发件人",
            "snd_col_subject": "主题",
            "snd_col_why": "无法识别的原因",
            "snd_col_size": "大小",
            "snd_bytes": "{n} 字节",
            "snd_view_raw": "查看原文",
            "snd_dismiss": "标记为已处理",
            "snd_dismissed": "已标记为已处理。",
            "snd_page": "第 {page} / {pages} 页",
            "snd_prev": "上一页",
            "snd_next": "下一页",
            "snd_mail_title": "无法识别的邮件 #{id}",
            "snd_mail_back": "返回发信状况",
            "snd_mail_mailbox": "邮箱",
            "snd_mail_ref": "邮件标识",
            "snd_mail_source": "邮件原文",
            "snd_mail_cut": "只显示前 {shown} KB，全文共 {size} 字节；全文仍保存在邮箱中。",
            "snd_mail_dismissed_at": "已于 {at} 标记为已处理。",
            "snd_sources_title": "退信来源的状态",
            "snd_sources_help": (
                "退信邮箱应每 {minutes} 分钟收取一次，超过 {stale} 分钟未收取即视为停止；"
                "服务商的 webhook 只在有事件时才会来。"
            ),
            "snd_sources_none": "还没有任何来源报告过：没有配置退信邮箱，也没有收到 webhook。",
            "snd_sending_title": "退信地址与签名",
            "snd_sending_help": (
                "每个列表的邮件以自己的退信地址（VERP）发出，退信才能对上是哪一封；"
                "DKIM 签名的域名须与发件人域名一致，DMARC 才会通过。"
            ),
            "snd_col_list": "列表",
            "snd_col_return_path": "退信地址",
            "snd_col_dkim": "DKIM 签名",
            "snd_site_wide": "站点设置",
            "snd_no_verp": "没有退信域名：退信回到发件人地址，无人读取（设置列表的退信域名或 DIGEST_BOUNCE_DOMAIN）",
            "snd_dkim_off": "不签名（未设置 DIGEST_DKIM_*）",
            "snd_dkim_aligned": "以 {domain} 签名，与发件人一致",
            "snd_dkim_unaligned": "以 {domain} 签名，与发件人域名不一致：DMARC 不会通过",
            "snd_col_source": "来源",
            "snd_col_state": "状态",
            "snd_col_last_seen": "最近一次",
            "snd_col_last_ok": "最近一次成功",
            "snd_col_last_error": "最近的错误",
            "snd_col_counts": "累计",
            "snd_col_runs": "次数",
            "snd_source_mailbox": "退信邮箱（{name}）",
            "snd_source_webhook": "{name} webhook",
            "snd_state_ok": "正常",
            "snd_state_stale": "已停止：超过 {stale} 分钟未收取",
            "snd_state_erroring": "出错：最近的错误晚于最近的成功",
            "snd_never": "从未",
        },
        "en": {
            "nav_sender": "Sender",
            "snd_title": "Sender reputation",
            "snd_help": (
                "Too many bounces and complaints make mailbox providers treat the newsletter as spam. Here are the"
                " bounce and complaint rates per issue and per week, against the providers' thresholds."
            ),
            "snd_list": "List",
            "snd_all_lists": "All lists",
            "snd_show": "Show",
            "snd_thresholds": (
                "Complaint rate: since February 2024 Gmail and Yahoo require bulk senders to stay below {target}"
                " and never reach {limit}. Bounce rate: no provider publishes a threshold; {warning} is a warning"
                " level common in industry practice, not a provider's rule."
            ),
            "snd_rates_note": (
                "Copies sent include those refused during the send; bounce rate = (hard bounces + refused during"
                " the send) ÷ copies sent."
            ),
            "snd_issues_title": "Bounces and complaints per issue (last {n} issues)",
            "snd_weeks_title": "Bounces and complaints per week (last {n} weeks, {zone} time)",
            "snd_issues_none": "No issue has gone out yet.",
            "snd_col_issue": "Issue",
            "snd_col_week": "Week",
            "snd_col_sent": "Copies sent",
            "snd_col_refused": "Refused during the send",
            "snd_col_hard": "Hard bounces",
            "snd_col_soft": "Soft bounces",
            "snd_col_complaints": "Complaints",
            "snd_col_unsubscribes": "Unsubscribed by mail",
            "snd_col_auto": "Auto-replies",
            "snd_col_bounce_rate": "Bounce rate",
            "snd_col_complaint_rate": "Complaint rate",
            "snd_issue": "{name} No. {number}",
            "snd_week": "{week} (from {start})",
            "snd_nothing_sent": "nothing sent",
            "snd_bounce_over": "at or over the {warning} warning level",
            "snd_bounce_ok": "below {warning}",
            "snd_complaint_over_limit": "at or over the {limit} limit",
            "snd_complaint_over_target": "at or over {target}: keep it below",
            "snd_complaint_ok": "below {target}",
            "snd_supp_title": "Suppression list (latest {n})",
            "snd_supp_help": (
                "Nothing is sent to these addresses on any list. Search, add and undo on the full suppression list."
            ),
            "snd_supp_all": "Open the full suppression list ({total} addresses)",
            "snd_col_email": "Email",
            "snd_col_reason": "Reason",
            "snd_col_kind": "Put there by",
            "snd_col_event": "The event that decided",
            "snd_col_added": "Added",
            "snd_supp_undo": "Remove",
            "snd_supp_none": "The suppression list is empty.",
            "snd_kind_admin": "an admin",
            "snd_kind_bounce": "refused during the send",
            "snd_kind_hard_bounce": "a hard bounce",
            "snd_kind_complaint": "a complaint",
            "snd_kind_soft_bounce": "soft bounces over the threshold",
            "snd_kind_import": "an import",
            "snd_event": "event {id}, from {source}",
            "snd_unparsed_title": "Mail nobody could read ({total})",
            "snd_unparsed_help": (
                "Mail of the bounce mailbox that is no bounce, complaint, auto-reply or unsubscribe request waits"
                " here (it also stays in the mailbox) until someone has looked at it and dismisses it."
            ),
            "snd_unparsed_none": "No mail waiting.",
            "snd_col_received": "Received",
            "snd_col_from": "From",
            "snd_col_subject": "Subject",
            "snd_col_why": "Why it was not understood",
            "snd_col_size": "Size",
            "snd_bytes": "{n} bytes",
            "snd_view_raw": "Raw source",
            "snd_dismiss": "Dismiss",
            "snd_dismissed": "Dismissed.",
            "snd_page": "Page {page} of {pages}",
            "snd_prev": "Previous",
            "snd_next": "Next",
            "snd_mail_title": "Mail nobody could read #{id}",
            "snd_mail_back": "Back to the sender page",
            "snd_mail_mailbox": "Mailbox",
            "snd_mail_ref": "Reference",
            "snd_mail_source": "Raw source",
            "snd_mail_cut": "Only the first {shown} KB are shown, of {size} bytes; the whole mail is still in the mailbox.",
            "snd_mail_dismissed_at": "Dismissed at {at}.",
            "snd_sources_title": "Bounce sources",
            "snd_sources_help": (
                "The bounce mailbox should be read every {minutes} minutes; unread for over {stale} minutes, it is"
                " considered stopped. Providers' webhooks only call when there is an event."
            ),
            "snd_sources_none": "No source has reported yet: no bounce mailbox is set and no webhook has called.",
            "snd_sending_title": "Return paths and signing",
            "snd_sending_help": (
                "Each list's mail goes out with return paths of its own (VERP), so a bounce names its copy; "
                "for DMARC, the DKIM signing domain must match the sender's domain."
            ),
            "snd_col_list": "List",
            "snd_col_return_path": "Return path",
            "snd_col_dkim": "DKIM",
            "snd_site_wide": "the site's",
            "snd_no_verp": "no bounce domain: bounces go to the sender address, which nothing reads "
            "(set the list's bounce domain or DIGEST_BOUNCE_DOMAIN)",
            "snd_dkim_off": "not signing (DIGEST_DKIM_* unset)",
            "snd_dkim_aligned": "signed as {domain}, aligned with the sender",
            "snd_dkim_unaligned": "signed as {domain}, which is not the sender's domain: DMARC will fail",
            "snd_col_source": "Source",
            "snd_col_state": "State",
            "snd_col_last_seen": "Last seen",
            "snd_col_last_ok": "Last success",
            "snd_col_last_error": "Last error",
            "snd_col_counts": "Totals",
            "snd_col_runs": "Runs",
            "snd_source_mailbox": "Bounce mailbox ({name})",
            "snd_source_webhook": "{name} webhook",
            "snd_state_ok": "working",
            "snd_state_stale": "stopped: not read for over {stale} minutes",
            "snd_state_erroring": "failing: its last error is newer than its last success",
            "snd_never": "never",
        },
    }
)
