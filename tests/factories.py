"""factory_boy factories: one per model the tests create rows of, the only place that defines them.

Defaults are realistic but neutral (no headline that a matching rule would pick up); pass what a test
is about. The watch list (the 16 indicators) comes from the data migration: look indicators up, never
create them.
"""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from indicators.models import Event, EventSource, Indicator
from tracker.dashboards.models import Milestone
from tracker.digests.models import Subscription
from tracker.feeds.models import Entry, Feed, Story


def indicator(slug):
    return Indicator.objects.get(slug=slug)


# --- People -------------------------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    """A user whose password is "<username>-password-1" (as the conftest personas' are)."""

    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"reader{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.django.Password(factory.LazyAttribute(lambda o: f"{o.username}-password-1"))


# --- Events -------------------------------------------------------------------------------------------


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    indicator = factory.LazyFunction(lambda: Indicator.objects.get(slug="prisoner-exchange"))
    direction = "advance"
    occurred_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=3))
    title = factory.Sequence(lambda n: f"Event {n}")
    origin = "manual"
    state = "confirmed"


class EventSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventSource

    event = factory.SubFactory(EventFactory)
    url = factory.Sequence(lambda n: f"https://news.example.org/story/{n}")
    outlet = "Example News"
    language = "en"


class MilestoneFactory(factory.django.DjangoModelFactory):
    """A dated milestone, marked on every timeline."""

    class Meta:
        model = Milestone

    date = factory.Sequence(lambda n: datetime.date(2025, 9, 1) + datetime.timedelta(days=n))
    label = factory.Sequence(lambda n: f"Coalition meeting {n}")


# --- Feeds, stories and entries -----------------------------------------------------------------------


class FeedFactory(factory.django.DjangoModelFactory):
    """An active English feed that has never been polled."""

    class Meta:
        model = Feed

    url = factory.Sequence(lambda n: f"https://wire{n}.example.org/rss")
    title = factory.Sequence(lambda n: f"Example Wire {n}")
    language = "en"


class StoryFactory(factory.django.DjangoModelFactory):
    """A story carried by one outlet, first and last seen now."""

    class Meta:
        model = Story

    title = factory.Sequence(lambda n: f"Regional council report {n}")


class EntryFactory(factory.django.DjangoModelFactory):
    """An entry published now, read from no feed (as if imported), in a story of its own (titled like it);
    its language is left to detection. Pass `feed=FeedFactory()` for an entry read from a feed, or
    `story=` to put several entries in one story."""

    class Meta:
        model = Entry

    feed = None
    story = factory.SubFactory(
        StoryFactory, title=factory.SelfAttribute("..title"), lang=factory.SelfAttribute("..lang")
    )
    title = factory.Sequence(lambda n: f"Regional council report {n}")
    lang = ""
    link = factory.Sequence(lambda n: f"https://news.example.org/articles/{n}")
    guid = factory.SelfAttribute("link")
    canonical_link = factory.SelfAttribute("link")
    outlet = "Example News"
    published_at = factory.LazyFunction(timezone.now)


# --- Digests ------------------------------------------------------------------------------------------


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A subscription to the weekly digest, saved as the app saves one (validated, its first digest
    scheduled): a user's when `user` is given, otherwise an external address. Takes `now`, the moment
    it is made (default: the clock). The model's defaults stand: Mondays at 08:00 UTC, every category."""

    class Meta:
        model = Subscription

    user = None
    email = factory.LazyAttributeSequence(lambda o, n: "" if o.user else f"desk{n}@news.example")

    @classmethod
    def _build(cls, model_class, *args, now=None, **kwargs):
        return model_class(*args, **kwargs)

    @classmethod
    def _create(cls, model_class, *args, now=None, **kwargs):
        from tracker.digests.schedule import save_subscription

        return save_subscription(model_class(*args, **kwargs), now=now or timezone.now())
