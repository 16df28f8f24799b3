"""factory_boy factories for rows used across test modules."""

import datetime

import factory
from django.utils import timezone

from indicators.models import Event, EventSource, Indicator


def indicator(slug):
    return Indicator.objects.get(slug=slug)


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
