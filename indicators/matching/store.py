"""The matcher built from the database rows (MatchRule, ScopeTerm), cached per process.

The cache is keyed on a cheap fingerprint of both tables (row count and latest update), checked at most
every CHECK_SECONDS, and dropped at once by a signal when a row is saved or deleted in this process:
an edit in the admin reaches a Celery worker within seconds without a restart.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .engine import Matcher, RuleSpec, ScopeSpec

CHECK_SECONDS = 5.0

_lock = threading.Lock()
_cached: dict = {"fingerprint": None, "matcher": None, "checked_at": 0.0}


def threshold() -> float:
    return float(settings.MATCH_THRESHOLD)


def _fingerprint():
    from indicators.models import MatchRule, ScopeTerm

    rules = MatchRule.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    scope = ScopeTerm.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return (rules["n"], rules["last"], scope["n"], scope["last"], threshold())


def load_specs_from_db(
    replace: dict | None = None, only: tuple[str, str] | None = None
) -> tuple[list[RuleSpec], list[ScopeSpec]]:
    """Enabled rules and scope phrases as specs. `replace` maps (slug, lang) to a RuleSpec (or None to
    drop the rule), for dry-runs of an unsaved change; `only` keeps the rule of one (slug, lang)."""
    from indicators.models import MatchRule, ScopeTerm

    specs = {}
    for row in MatchRule.objects.select_related("indicator").filter(enabled=True):
        spec = row.spec()
        specs[(spec.indicator, spec.lang)] = spec
    for key, spec in (replace or {}).items():
        if spec is None:
            specs.pop(key, None)
        else:
            specs[key] = spec
    scope: dict[str, dict[str, list[str]]] = {}
    for lang, kind, phrase in ScopeTerm.objects.values_list("language", "kind", "phrase"):
        scope.setdefault(lang, {"theatre": [], "off_theatre": []})[kind].append(phrase)
    scopes = [
        ScopeSpec(lang=lang, theatre=tuple(v["theatre"]), off_theatre=tuple(v["off_theatre"]))
        for lang, v in sorted(scope.items())
    ]
    return [specs[k] for k in sorted(specs) if only is None or k == only], scopes


def build_matcher(replace: dict | None = None, only: tuple[str, str] | None = None) -> Matcher:
    rules, scopes = load_specs_from_db(replace, only)
    return Matcher(rules, scopes, threshold=threshold())


def get_matcher() -> Matcher:
    """The current matcher; rebuilt when the rules changed."""
    now = time.monotonic()
    with _lock:
        matcher = _cached["matcher"]
        if matcher is not None and now - _cached["checked_at"] < CHECK_SECONDS:
            return matcher
        fingerprint = _fingerprint()
        if matcher is None or fingerprint != _cached["fingerprint"]:
            matcher = build_matcher()
            _cached.update(fingerprint=fingerprint, matcher=matcher)
        _cached["checked_at"] = now
        return matcher


def clear_cache(**_kwargs) -> None:
    with _lock:
        _cached.update(fingerprint=None, matcher=None, checked_at=0.0)


@receiver(post_save, sender="indicators.MatchRule", dispatch_uid="matchrule_saved")
@receiver(post_delete, sender="indicators.MatchRule", dispatch_uid="matchrule_deleted")
@receiver(post_save, sender="indicators.ScopeTerm", dispatch_uid="scopeterm_saved")
@receiver(post_delete, sender="indicators.ScopeTerm", dispatch_uid="scopeterm_deleted")
def _rules_changed(**kwargs):
    clear_cache()
