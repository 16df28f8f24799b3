"""Placeholder pages until the dashboards land."""

from django.shortcuts import get_object_or_404, render

from indicators.models import Indicator
from indicators.services import indicator_statuses


def overview(request):
    return render(request, "tracker/overview.html", {"statuses": indicator_statuses()})


def indicator_detail(request, slug):
    indicator = get_object_or_404(Indicator, slug=slug)
    return render(request, "tracker/indicator.html", {"indicator": indicator})
