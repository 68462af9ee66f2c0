"""The delivery loop's core: what comes back after a send, read into plain events, and what to do about them.

    events.py    MailEvent and its kinds: what a bounce mail, a complaint or a provider's webhook says
    verp.py      the signed return path each delivery goes out with, and reading it back
    reading.py   one inbound mail (bytes) -> MailEvent(s) or "not understood": DSN, ARF, auto-reply, mailto
      mailtext.py    the mail parsed once, its parts sorted, its headers and bodies decoded
      reports.py     DSNs (RFC 3464) and feedback reports (ARF, RFC 5965)
      nonstandard.py other bounces: flufl.bounce, QQ Mail's and NetEase's Chinese notices
      judging.py     permanent or temporary, by status code and by words
      autoreply.py   out of office, vacation, 自动回复
    policy.py    the soft-bounce score and its decay; which events suppress
    settings.py  the loop's settings from the environment (bounce domain, mailbox, DKIM, webhook keys)

Nothing here opens a connection or a database: the mailbox adapters (digest/adapters/mailboxes), the
webhook routes (digest/web/webhooks) and the services (digest/services/bounces) are the edges.
"""
