"""{% series_sentences indicator %}: the sentence of each measured series of an indicator ("28-day mean 412
a day, 38% above the pre-summit baseline of 298"), linking to its page. Used on the indicator page and the
overview's cards without their views knowing: the readings of every series are loaded once per request
(one query), whatever the number of cards."""

from django import template

from indicators import series as svc

register = template.Library()


def _readings_by_indicator(request):
    cached = getattr(request, "_watchpost_series_readings", None) if request is not None else None
    if cached is None:
        cached = {}
        for reading in svc.all_readings():
            cached.setdefault(reading.series.indicator_id, []).append(reading)
        if request is not None:
            request._watchpost_series_readings = cached
    return cached


@register.inclusion_tag("tracker/_series_sentences.html", takes_context=True)
def series_sentences(context, indicator, compact=False):
    readings = _readings_by_indicator(context.get("request")).get(getattr(indicator, "pk", None), [])
    return {"readings": readings, "compact": compact}
