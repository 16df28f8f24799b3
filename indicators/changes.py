"""A generation number for the watch list's data: it changes whenever anything this app stores (an
indicator, an event, an event's source or audit line, a series point...) is saved or deleted, so that
readers above (the dashboards' cache) can tell "something changed" without knowing what.

The number lives in Django's cache (shared between processes when the cache is Redis). It is bumped by
post_save and post_delete signals (connected in apps.py), twice: at once, and again when the transaction
commits, so that a reader who rebuilt from the database between the two (and saw the old rows) stored its
result under a number that is already gone. The services' bulk paths (QuerySet.update in
indicators/stories.py) always write an audit line (EventReview) or save or delete an event in the same
transaction, which sends the signals; code that changes events in bulk without that calls bump() itself.
"""

import hashlib
import logging
import time

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

log = logging.getLogger(__name__)


def scope() -> str:
    """A short name of the database in use: two databases sharing one cache (two sites on one Redis,
    parallel test runs) never share a generation or a cached page."""
    s = connection.settings_dict
    name = f"{s.get('ENGINE')}|{s.get('HOST')}|{s.get('PORT')}|{s.get('NAME')}"
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def _key() -> str:
    return f"watchpost:generation:{scope()}"


# The number expires after a month (a database dropped leaves nothing for ever); it then starts again
# from _fresh(), above every earlier value.
TIMEOUT = 30 * 24 * 3600


def _fresh() -> int:
    # Microseconds since the epoch: a counter that was evicted (or a Redis restarted empty) starts again
    # above every value it had before, so entries stored under an old number are never read again.
    return time.time_ns() // 1000


def generation() -> int:
    """The current generation (a large integer that only grows)."""
    key = _key()
    value = cache.get(key)
    if value is None:
        cache.add(key, _fresh(), timeout=TIMEOUT)
        value = cache.get(key)
    return int(value)


def _incr() -> None:
    key = _key()
    try:
        try:
            cache.incr(key)
        except ValueError:  # missing (never set, or evicted)
            if not cache.add(key, _fresh(), timeout=TIMEOUT):
                cache.incr(key)
    except Exception:  # noqa: BLE001 - a cache that is down must never fail a write; entries expire anyway
        log.warning("could not bump the watch list's generation number", exc_info=True)


def bump(*args, **kwargs) -> None:
    """Mark the watch list changed: now, and again when the current transaction commits. Takes any
    arguments, to serve as a signal receiver."""
    _incr()
    transaction.on_commit(_incr)


def connect() -> None:
    """Every model of this app bumps the number: indicators, events, their sources and audit lines, and
    whatever else interpretation stores and a page may show (a model added later is followed too)."""
    from django.apps import apps

    for model in apps.get_app_config("indicators").get_models():
        name = model._meta.label
        post_save.connect(bump, sender=model, dispatch_uid=f"watchpost-generation-save-{name}")
        post_delete.connect(bump, sender=model, dispatch_uid=f"watchpost-generation-delete-{name}")
