# Models are split by feature; each module owns its part of the tracker app.
from .dashboards import *  # noqa: F401,F403
from .digests import *  # noqa: F401,F403
from .feeds import *  # noqa: F401,F403
