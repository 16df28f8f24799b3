"""Figures from the news in the review queue: an analyst confirms a proposed figure (the series' point is
written, with its revision) or rejects it. Thin: call indicators.figures, say what happened, go back."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from indicators import figures
from indicators.models import ProposedPoint

from .access import analyst_required


@require_POST
@analyst_required
def figure_decision(request, pk):
    point = get_object_or_404(ProposedPoint.objects.select_related("series"), pk=pk)
    action = request.POST.get("action")
    what = f"{point.series.title} on {point.date:%-d %b %Y}: {point.value:g}"
    try:
        if action == "confirm":
            figures.confirm_figure(pk, actor_id=request.user.pk, now=timezone.now())
            messages.success(request, f"Confirmed {what}; the series' point is written.")
        elif action == "reject":
            figures.reject_figure(pk, actor_id=request.user.pk, now=timezone.now())
            messages.success(request, f"Rejected {what}; no point written.")
        else:
            messages.error(request, f"Nothing changed for {what}: choose Confirm or Reject.")
    except ValidationError as exc:
        messages.error(request, f"Nothing changed for {what}: {' '.join(exc.messages)}")
    return redirect("review-queue")
