"""Weekly digest emails: subscriptions, building and sending the digest, unsubscribing.

Module map:

- `weeks`: IsoWeek, the Monday-to-Sunday week a digest covers ("2025-W36").
- `models`: Subscription (who gets what, when) and DigestDelivery (one row per subscription and week).
- `schedule`: when a digest is due (`due_at`, `next_due`, `due_subscriptions`) and the subscription state
  behind it (`save_subscription`, `unsubscribe`).
- `content`: what a digest says (`build_digest`, `build_digest_for`, `next_digest`) and its dataclasses
  (Digest, Section, StatusChange, EventItem, StageLine).
- `tokens`: the signed one-click unsubscribe token (`unsubscribe_token`, `subscription_from_token`).
- `sending`: claiming and sending a digest exactly once (`claim`, `claim_and_send`, `release`), its
  Outcome and DigestTransportError.
- `emails`: rendering the email messages from their templates.
- `tasks`: the Celery beat and send tasks; `management/commands/send_digests.py`: the same from a shell.
- `views`, `forms`, `urls`, `admin`: the subscribe, preview and unsubscribe pages, and the admin.
"""
