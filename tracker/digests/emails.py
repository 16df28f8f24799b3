"""Email messages, one function per email (healthchecks' hc/lib/emails.py).

Each email has three templates in templates/emails/: NAME-subject.txt, NAME-body-text.txt and
NAME-body-html.html. No images, no tracking pixels: only links back to the site.
"""

from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def render(name, ctx):
    """(subject, text, html) of the email NAME rendered with `ctx`."""
    subject = render_to_string(f"emails/{name}-subject.txt", ctx)
    subject = " ".join(subject.split())  # one line: a newline in a subject header is an injection
    text = render_to_string(f"emails/{name}-body-text.txt", ctx)
    html = render_to_string(f"emails/{name}-body-html.html", ctx)
    return subject, text, html


def make_message(name, to, ctx, headers=None):
    subject, text, html = render(name, ctx)
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    headers = {"Message-ID": make_msgid(domain=domain), **(headers or {})}
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def digest(to, digest):
    """The weekly digest for `to` (not sent: the caller sends it and handles transport errors)."""
    headers = {
        # RFC 2369 and RFC 8058: mail clients show an "Unsubscribe" button that POSTs to this URL.
        "List-Unsubscribe": f"<{digest.unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "Precedence": "bulk",
    }
    return make_message("digest", to, {"digest": digest, "site_url": settings.SITE_URL}, headers)
