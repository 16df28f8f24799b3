"""Atom feeds of newly confirmed events, overall and per category (django.contrib.syndication).

Readable by anyone when dashboards are public; otherwise by a logged-in user, or by a feed reader using the
personal link shown on the export page (a signed key naming the user, revoked by deactivating the user).
"""

import html

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.contrib.syndication.views import Feed
from django.core import signing
from django.http import Http404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from indicators.models import Category, Event, State

from .access import can_view

ITEMS = 50
KEY_SALT = "watchpost.atom"


def feed_key(user):
    return signing.dumps(user.pk, salt=KEY_SALT)


def _key_user_ok(key):
    try:
        pk = signing.loads(key, salt=KEY_SALT)
    except signing.BadSignature:
        return False
    return get_user_model().objects.filter(pk=pk, is_active=True).exists()


class ConfirmedEventsFeed(Feed):
    feed_type = Atom1Feed

    def __call__(self, request, *args, **kwargs):
        key = request.GET.get("key", "")
        if not can_view(request.user) and not (key and _key_user_ok(key)):
            return redirect_to_login(request.get_full_path())
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request, category=None):
        if category is not None and category not in Category.values:
            raise Http404("No such category: use ground, humanitarian, political or coercive.")
        return category

    def title(self, category):
        label = dict(Category.choices).get(category)
        return (
            f"Watchpost: newly confirmed {label.lower()} events"
            if label
            else "Watchpost: newly confirmed events"
        )

    def subtitle(self, category):
        return "Events confirmed by Watchpost analysts on the signals to watch after the Anchorage summit."

    def link(self, category):
        return reverse("category", args=[category]) if category else reverse("overview")

    def feed_url(self, category):
        return reverse("atom-category", args=[category]) if category else reverse("atom-events")

    def author_name(self):
        return "Watchpost"

    def items(self, category):
        qs = Event.objects.filter(state=State.CONFIRMED, reviewed_at__isnull=False)
        if category:
            qs = qs.filter(indicator__category=category)
        return (
            qs.select_related("indicator").prefetch_related("sources").order_by("-reviewed_at", "-id")[:ITEMS]
        )

    def item_title(self, item):
        arrow = "▲" if item.direction == "advance" else "▼"
        return f"{arrow} {item.indicator.title}: {item.title}"

    def item_description(self, item):
        ind = item.indicator
        lines = [
            f"{item.get_direction_display()} on {ind.title} ({ind.get_category_display()}), "
            f"happened on {item.occurred_on:%d %B %Y}.",
        ]
        if item.summary:
            lines.append(item.summary)
        lines += [f"Source: {s.outlet or s.url} {s.url}" for s in item.sources.all()]
        # Atom sends the summary as type="html": escape it so that feed text never becomes markup.
        return "<br>".join(html.escape(line) for line in lines)

    def item_link(self, item):
        return reverse("event", args=[item.pk])

    def item_guid(self, item):
        return f"{settings.SITE_URL}/events/{item.pk}/"

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return item.reviewed_at

    def item_updateddate(self, item):
        return item.reviewed_at

    def item_categories(self, item):
        return [item.indicator.category, item.indicator.slug, item.direction]
