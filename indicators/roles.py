"""Who interprets: analysts log and review events, and see what the matcher proposed.

Analysts are members of the "analysts" group (created by a data migration with the permissions to add and
change events), users given those permissions directly, and staff. Read by the dashboards (the review
queue, the audit trail) and the digests (proposed events are listed for analysts only).
"""

ANALYSTS_GROUP = "analysts"
ANALYST_PERMS = ("indicators.add_event", "indicators.change_event")


def is_analyst(user) -> bool:
    if user is None or not (user.is_authenticated and user.is_active):
        return False
    if user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, "_watchpost_is_analyst", None)
    if cached is None:
        cached = user.has_perms(ANALYST_PERMS) or user.groups.filter(name=ANALYSTS_GROUP).exists()
        user._watchpost_is_analyst = cached
    return cached
