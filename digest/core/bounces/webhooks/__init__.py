"""Provider webhooks, verified as each provider documents and read into MailEvents: plain data in and out.

    common.py    WebhookRefused, Verified and what the providers share (freshness, JSON, keys)
    sns.py       Amazon SNS: the message signature, the certificate URL's host, the topic, the timestamp
    ses.py       the SES notification an SNS Notification carries: bounces and complaints
    mailgun.py   Mailgun: HMAC-SHA256 of timestamp + token with the webhook signing key
    sendgrid.py  SendGrid's signed event webhook: ECDSA P-256 over timestamp + raw body
    postmark.py  Postmark: no signature; the URL's secret or basic auth is checked by the web edge

Each reader takes the request's headers, its raw body, the loop's settings and the time, and returns the
events with the request's nonce (what tells a retry from a replay) or raises WebhookRefused. Nothing here
opens a connection: SNS's certificate is fetched by the edge (digest/web/webhooks.py) and handed in.
"""

from digest.core.bounces.webhooks.common import Verified, WebhookRefused

__all__ = ["Verified", "WebhookRefused"]
