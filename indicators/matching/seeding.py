"""Seed MatchRule and ScopeTerm rows from fixtures/rules/<lang>.json. Idempotent; never overwrites.

Rows that exist already (same indicator and language; same language, kind and phrase) are left as they
are: an analyst's edits in the admin win over the fixtures. Indicators missing from the database are
skipped (their rules are seeded on a later run, once the watch list has them).
"""

from __future__ import annotations

from .rules import FIXTURES_DIR, load_specs


def seed_rules(rule_model=None, scope_model=None, indicator_model=None, directory=FIXTURES_DIR) -> dict:
    """Create missing rules and scope phrases. Data migrations pass their historical models."""
    if rule_model is None:
        from indicators.models import Indicator, MatchRule, ScopeTerm

        rule_model, scope_model, indicator_model = MatchRule, ScopeTerm, Indicator
    rules, scopes = load_specs(directory)
    indicators = dict(indicator_model.objects.values_list("slug", "pk"))
    existing = set(rule_model.objects.values_list("indicator_id", "language"))
    new_rules = [
        rule_model(
            indicator_id=indicators[spec.indicator],
            language=spec.lang,
            terms="\n".join(spec.terms),
            reverse_terms="\n".join(spec.reverse_terms),
            reverse_cues="\n".join(spec.reverse_cues),
            exclusions="\n".join(spec.exclusions),
            weight=spec.weight,
        )
        for spec in rules
        if spec.indicator in indicators and (indicators[spec.indicator], spec.lang) not in existing
    ]
    rule_model.objects.bulk_create(new_rules)
    present = set(scope_model.objects.values_list("language", "kind", "phrase"))
    new_scope = []
    for scope in scopes:
        for kind, phrases in (("theatre", scope.theatre), ("off_theatre", scope.off_theatre)):
            for phrase in phrases:
                key = (scope.lang, kind, phrase)
                if key not in present:
                    present.add(key)
                    new_scope.append(scope_model(language=scope.lang, kind=kind, phrase=phrase))
    scope_model.objects.bulk_create(new_scope)
    return {"rules_created": len(new_rules), "scope_terms_created": len(new_scope)}
