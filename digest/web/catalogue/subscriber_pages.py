"""The words of one subscriber's pages: adding one, and their delivery history and preview link."""

from __future__ import annotations

from digest.web.i18n import add_words

add_words(
    {
        "zh-CN": {
            "subs_tab_new": "添加订阅者",
            "subs_add_title": "添加订阅者",
            "subs_add_mode": "如何加入",
            "subs_add_mode_mail": "发送确认邮件：对方点击确认后才开始收到周报",
            "subs_add_mode_confirmed": "直接设为已订阅（对方已在别处同意），不发邮件",
            "subs_add_button": "添加",
            "subs_err_add_exists": "{email} 已在此邮件列表中。",
            "subs_add_open_existing": "查看该订阅者",
            "subs_err_add_suppressed": "{email} 在屏蔽名单上，不会收到任何邮件；如需添加，请先将其移出屏蔽名单。",
            "subs_add_open_suppressions": "打开屏蔽名单",
            "subs_err_add_mode": "请选择加入方式。",
            "subs_added_confirmed": "已添加为已订阅，下一期起会收到周报。",
            "subs_added_mailed": "已添加，确认邮件已发出；对方确认后开始收到周报。",
            "subs_added_queued": "已添加，确认邮件已交给后台发送；对方确认后开始收到周报。",
            "subs_added_waits": "已添加，但邮件服务器暂缓了确认邮件，稍后会再次发送。",
            "subs_added_refused": "已添加，但邮件服务器拒收了确认邮件。",
            "subs_history_title": "投递记录",
            "subs_history_issue": "期号",
            "subs_history_issue_no": "第 {number} 期",
            "subs_history_period": "截止日期",
            "subs_history_sent": "发送时间",
            "subs_history_reason": "原因",
            "subs_history_none": "还没有给此订阅者的投递。",
            "subs_history_older": "更早的记录",
            "subs_history_newer": "较新的记录",
            "subs_preview_link": "预览其第 {number} 期（最新一期）",
            "subs_preview_none": "还没有任何一期可预览。",
            "subs_preview_note": "预览中的个人链接（退订、偏好设置）不会生效。",
        },
        "en": {
            "subs_tab_new": "Add a subscriber",
            "subs_add_title": "Add a subscriber",
            "subs_add_mode": "How they join",
            "subs_add_mode_mail": "Send a confirmation mail: issues reach them once they confirm",
            "subs_add_mode_confirmed": "Confirmed now (they agreed elsewhere): no mail is sent",
            "subs_add_button": "Add",
            "subs_err_add_exists": "{email} is already on this list.",
            "subs_add_open_existing": "Open their page",
            "subs_err_add_suppressed": (
                "{email} is on the suppression list: nothing is ever sent to it. Take it off the list first to add it."
            ),
            "subs_add_open_suppressions": "Open the suppression list",
            "subs_err_add_mode": "Choose how they join.",
            "subs_added_confirmed": "Added as confirmed: the next issue reaches them.",
            "subs_added_mailed": "Added; the confirmation mail was sent: issues reach them once they confirm.",
            "subs_added_queued": "Added; the confirmation mail is queued for the workers: issues reach them once "
            "they confirm.",
            "subs_added_waits": "Added, but the mail server put off the confirmation mail: it goes again later.",
            "subs_added_refused": "Added, but the mail server refused the confirmation mail.",
            "subs_history_title": "Delivery history",
            "subs_history_issue": "Issue",
            "subs_history_issue_no": "No. {number}",
            "subs_history_period": "Week ending",
            "subs_history_sent": "Sent",
            "subs_history_reason": "Reason",
            "subs_history_none": "No delivery to this subscriber yet.",
            "subs_history_older": "Older",
            "subs_history_newer": "Newer",
            "subs_preview_link": "Preview their copy of No. {number} (the latest issue)",
            "subs_preview_none": "No issue to preview yet.",
            "subs_preview_note": "A preview's personal links (unsubscribe, preferences) do nothing.",
        },
    }
)
