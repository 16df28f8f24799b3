from django import forms

from indicators.models import Category
from tracker.digests.models import Subscription, time_zone_names


def _time_zone_choices():
    return [(name, name.replace("_", " ")) for name in sorted(time_zone_names())]


class _ScheduleFields(forms.ModelForm):
    """The fields both forms share: a time zone from the list, categories as checkboxes."""

    time_zone = forms.ChoiceField(choices=_time_zone_choices, initial="UTC", label="Time zone")
    categories = forms.MultipleChoiceField(
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick none to follow all four.",
    )


class SubscriptionForm(_ScheduleFields):
    """What a user picks: the weekday and hour (in their zone), the categories, skipping empty weeks."""

    hour = forms.TypedChoiceField(
        choices=[(h, f"{h:02d}:00") for h in range(24)], coerce=int, initial=8, label="Hour"
    )

    class Meta:
        model = Subscription
        fields = ["weekday", "hour", "time_zone", "categories", "skip_empty"]
        labels = {"weekday": "Day"}


class AdminSubscriptionForm(_ScheduleFields):
    """The admin's form: a user, or an external address; categories as checkboxes."""

    class Meta:
        model = Subscription
        fields = ["user", "email", "weekday", "hour", "time_zone", "categories", "skip_empty", "active"]
