"""The tracker's pages live in tracker/dashboards/views.py; re-exported here for older imports."""

from tracker.dashboards.views import indicator as indicator_detail  # noqa: F401
from tracker.dashboards.views import overview  # noqa: F401
