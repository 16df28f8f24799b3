"""Template context: the visitor's role, for the navigation."""

from django.utils.functional import SimpleLazyObject

from .access import is_analyst, public_dashboards


def roles(request):
    user = getattr(request, "user", None)
    return {
        "is_analyst": SimpleLazyObject(lambda: bool(user is not None and is_analyst(user))),
        "public_dashboards": public_dashboards(),
    }
