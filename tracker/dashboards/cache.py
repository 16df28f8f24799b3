"""What the dashboards build, cached: the pages were CPU-bound under load (issue #14).

Two layers, for the overview, category, indicator and heatmap pages:

- `cached`: the data a page is built from (statuses, trends, the figures as JSON-ready dicts, one page of
  events), keyed by the page and its normalised filters;
- `render`: the page's content block as HTML (the cards, the figures' JSON, the lists: most of the time
  left once the data is cached), keyed by the page, its filters and its query string (links repeat it).
  base.html and the other blocks are rendered for each request: the visitor's name, the log-out form's
  CSRF token, messages. A content block holding a CSRF token is never stored.

Every key also names today's date (arrows and the default range move at midnight), the visitor's class
(public / viewer / analyst: each has entries of its own, so one class's view never reaches another), the
dashboards' mode (public or not) and the generation, made of:

- indicators.changes' number, bumped by signals when anything the indicators app stores (an indicator, an
  event, a source, an audit line, a series point) is saved or deleted, and here a milestone: in the
  writing process, and again at commit;
- the highest ids of those tables (one query on primary keys): a row inserted by any process (a worker's
  proposal, a confirmation in another gunicorn worker, an import command, a bulk load) is seen at once,
  even with a cache of one's own per process (LocMem, the default).

Entries expire after WATCHPOST_DASHBOARD_CACHE_SECONDS: the bound for what neither sees (an edit or a
deletion in another process when each has its own cache; a story's outlet count, written by the pipeline
in bulk). Use Redis (REDIS_URL) with several processes.

Not used inside an open transaction (what it reads may include its own uncommitted writes). A cache that
fails (Redis down) is logged and skipped: the page is built as it would be without one.
"""

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from django.template import engines
from django.template.context import make_context
from django.template.loader import get_template
from django.template.loader_tags import BlockNode, ExtendsNode
from django.utils import timezone
from django.utils.safestring import mark_safe

from indicators import changes

from .access import is_analyst, public_dashboards
from .forms import FilterForm
from .models import Milestone

log = logging.getLogger(__name__)

PUBLIC, VIEWER, ANALYST = "public", "viewer", "analyst"
VERSION = 1  # change when the shape of an entry changes
CACHED_BLOCK = "content"  # the block of a page that render() caches; every other block is rendered each time
QUERY_PARAMS = {*FilterForm.base_fields, "page"}  # a page's HTML is cached for query strings of these only
MAX_QUERY = 300


def visibility(user) -> str:
    """The visitor's class: anonymous (public dashboards), a viewer with an account, or an analyst."""
    if not user.is_authenticated:
        return PUBLIC
    return ANALYST if is_analyst(user) else VIEWER


def cached(page, request, parts, build, *, keep=None):
    """`build()` (a dict), or what it returned for the same page, parts, class, day and generation.
    `keep(value)` False: that value is not stored."""
    if not _usable():
        return build()
    try:
        key = _key(page, request, parts)
        value = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache that fails is skipped, never a 500
        log.warning("dashboard cache unavailable: building %s without it", page, exc_info=True)
        return build()
    if value is None:
        value = build()
        if keep is not None and not keep(value):
            return value
        try:
            cache.set(key, value, timeout=settings.WATCHPOST_DASHBOARD_CACHE_SECONDS)
        except Exception:  # noqa: BLE001
            log.warning("dashboard cache unavailable: %s not stored", page, exc_info=True)
    return value


def render(request, template_name, context, *, page, parts):
    """django.shortcuts.render(request, template_name, context), with the page's content block (what
    costs: the cards, the figures' JSON, the lists of events) from the cache when it was rendered for the
    same query string, class, day and generation. The other blocks and base.html (the visitor's name,
    the CSRF token of the log-out form, messages) are rendered for each request.

    A content block holding a CSRF token (a POST form) is never stored; nor is one for a query string
    with other parameters than the filters' (each would be an entry of its own)."""
    template = get_template(template_name).template
    extends = template.nodelist.get_nodes_by_type(ExtendsNode)[0]
    blocks = [node for node in extends.nodelist if isinstance(node, BlockNode)]
    ctx = make_context(context, request, autoescape=template.engine.autoescape)
    rendered = {}
    with ctx.render_context.push_state(template), ctx.bind_template(template):
        for node in blocks:
            if node.name != CACHED_BLOCK:
                rendered[node.name] = node.render(ctx)
                continue
            query = _query(request)
            build = lambda node=node: {"html": node.render(ctx)}  # noqa: E731
            if query is None:
                rendered[node.name] = build()["html"]
            else:
                html = cached(f"{page}-html", request, (*parts, query), build, keep=_no_token)
                rendered[node.name] = html["html"]
    wrapper = _wrapper(extends.parent_name.var, tuple(rendered))
    html = wrapper.render({"watchpost_blocks": {k: mark_safe(v) for k, v in rendered.items()}}, request)  # noqa: S308
    return HttpResponse(html)


@lru_cache(maxsize=32)
def _wrapper(parent, names):
    """The parent template (base.html) with the given blocks filled from rendered HTML."""
    body = "".join(f"{{% block {n} %}}{{{{ watchpost_blocks.{n} }}}}{{% endblock %}}" for n in names)
    return engines["django"].from_string(f'{{% extends "{parent}" %}}{body}')


def _query(request):
    items = tuple((k, tuple(v)) for k, v in request.GET.lists())
    if len(request.META.get("QUERY_STRING", "")) > MAX_QUERY:
        return None
    if any(k not in QUERY_PARAMS or len(v) != 1 for k, v in items):
        return None
    return items


def _no_token(value):
    return "csrfmiddlewaretoken" not in value["html"]


def cached_page(page, request, parts, count, per_page, load):
    """One page of a list of `count` items, numbered from ?page= as Paginator.get_page does (a number
    beyond the end shows the last page), its items from `load(bottom, top)` cached like `cached`."""
    paginator = CountedPaginator(count, per_page)
    number = paginator.get_page(request.GET.get("page")).number
    bottom = (number - 1) * per_page
    items = cached(page, request, (*parts, number), lambda: {"items": list(load(bottom, bottom + per_page))})
    return Page(items["items"], number, paginator)


class CountedPaginator(Paginator):
    """A Paginator over a known number of items, for a page whose items were loaded already."""

    def __init__(self, count, per_page):
        super().__init__((), per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


def _usable():
    return settings.WATCHPOST_DASHBOARD_CACHE_SECONDS > 0 and not connection.in_atomic_block


def _key(page, request, parts):
    prefix = getattr(request, "_watchpost_dashboard_key", None)
    if prefix is None:  # once per request: the class and the generation
        generation = f"{changes.generation()}.{'.'.join(str(n or 0) for n in _highest_ids())}"
        mode = "public" if public_dashboards() else "accounts"
        prefix = (
            f"watchpost:dash:v{VERSION}.{_release()}:{changes.scope()}:{visibility(request.user)}:{mode}:"
            f"{generation}"
        )
        request._watchpost_dashboard_key = prefix
    # The filters are frozen dataclasses of dates and strings: their repr is stable across processes.
    digest = hashlib.sha256(repr((tuple(parts), timezone.localdate())).encode()).hexdigest()[:32]
    return f"{prefix}:{page}:{digest}"


@lru_cache(maxsize=1)
def _release() -> str:
    """A digest of the templates, once per process: after a deploy that changed them, HTML cached by the
    previous release (in Redis, shared) is not served."""
    digest = hashlib.sha256()
    for path in sorted(Path(settings.BASE_DIR, "templates").rglob("*.html")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _highest_ids():
    with connection.cursor() as cursor:
        cursor.execute(_highest_ids_sql(connection.vendor))
        return cursor.fetchone()


@lru_cache(maxsize=4)
def _highest_ids_sql(vendor=None):
    """One round trip, an index lookup per table (the MAX of a primary key): every model of the
    indicators app with a numeric key (events, sources, audit lines, series points...) and milestones.
    Names from the models, quoted: no input."""
    q = connection.ops.quote_name
    models = [*apps.get_app_config("indicators").get_models(), Milestone]
    numeric = [m for m in models if m._meta.pk.get_internal_type() in ("AutoField", "BigAutoField")]
    columns = [f"(SELECT MAX({q(m._meta.pk.column)}) FROM {q(m._meta.db_table)})" for m in numeric]  # noqa: S608
    return "SELECT " + ", ".join(columns)


def connect():
    """Milestones are marked on every timeline: their changes bump the generation too."""
    post_save.connect(changes.bump, sender=Milestone, dispatch_uid="watchpost-generation-save-Milestone")
    post_delete.connect(changes.bump, sender=Milestone, dispatch_uid="watchpost-generation-delete-Milestone")
