"""Plotly figures, built in Python as plotly.graph_objects.Figure and sent to the page as JSON.

Each figure is assembled as plain data and layout, then made a go.Figure in one call. Plotly's
property-by-property validation is skipped on the request path (it cost more than all the overview's
queries together at 100,000 events); tests/test_overview.py re-validates every figure with go.Figure.
Every text that may come from a feed (event titles) is HTML-escaped before it goes into hover text.
"""

import datetime
import html
from functools import lru_cache

import plotly.graph_objects as go

from indicators.models import Category, Direction

CATEGORY_COLOURS = {
    Category.GROUND: "#8c5a2b",
    Category.HUMANITARIAN: "#1f7a8c",
    Category.POLITICAL: "#3d5a98",
    Category.COERCIVE: "#a23b52",
}
WEEK_MS = 7 * 24 * 3600 * 1000
A_MONDAY = "2025-08-04"  # weeks start on Monday: bars span their week
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}
STAGE_NAMES = {
    1: "low-visibility steps (humanitarian)",
    2: "local freeze and verification",
    3: "political settlement",
}


def to_json(fig):
    """A plain dict (data, layout) for json_script. The figures hold only lists, strings and numbers, so
    the plain dict needs no numpy or base64 encoding."""
    return fig.to_plotly_json()


def timeline_json(weekly, milestones, *, since=None, until=None, categories=None, height=320):
    """timeline() as a JSON-ready dict, memoised on its input data: the same counts, range and milestones
    always make the same figure, so repeated views of unchanged data skip building it again."""
    key = (
        tuple((r["week"], r["category"], r["direction"], r["n"]) for r in weekly),
        tuple((m["date"], m["label"]) for m in milestones),
        since,
        until,
        tuple(categories or ()),
        height,
    )
    return _timeline_json(key)


@lru_cache(maxsize=64)
def _timeline_json(key):
    weekly, milestones, since, until, categories, height = key
    figure = timeline(
        [{"week": w, "category": c, "direction": d, "n": n} for w, c, d, n in weekly],
        [{"date": day, "label": label} for day, label in milestones],
        since=since,
        until=until,
        categories=list(categories) or None,
        height=height,
    )
    return to_json(figure)


def stage_progress_json(progress):
    """stage_progress() as a JSON-ready dict, memoised on its input (nine numbers)."""
    return _stage_progress_json(tuple((p["stage"], p["total"], p["appeared"]) for p in progress))


@lru_cache(maxsize=64)
def _stage_progress_json(key):
    return to_json(stage_progress([{"stage": s, "total": t, "appeared": a} for s, t, a in key]))


def _figure(data, layout, *, height):
    base = {
        "height": height,
        "margin": {"l": 50, "r": 10, "t": 24, "b": 30},
        "font": FONT,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top"},
    }
    base.update(layout)
    return go.Figure(data=data, layout=base, _validate=False)


def _milestone_marks(milestones):
    shapes, annotations = [], []
    for i, m in enumerate(milestones):
        day = m["date"].isoformat()
        shapes.append(
            {
                "type": "line",
                "x0": day,
                "x1": day,
                "xref": "x",
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#555", "width": 1, "dash": "dot"},
            }
        )
        annotations.append(
            {
                "x": day,
                "xref": "x",
                "yref": "paper",
                "y": 1,
                "yanchor": "bottom",
                "showarrow": False,
                "text": html.escape(m["label"]),
                "font": {"size": 10, "color": "#333"},
                "yshift": (i % 2) * 12,
            }
        )
    return {"shapes": shapes, "annotations": annotations}


def _week_range(since, until):
    """Bars span their whole week (Monday to Sunday): the x range reaches the weeks' edges."""
    if not (since and until):
        return {}
    first_monday = since - datetime.timedelta(days=since.weekday())
    last_sunday = until + datetime.timedelta(days=7 - until.weekday())
    return {"range": [first_monday.isoformat(), last_sunday.isoformat()]}


def timeline(weekly, milestones, *, since=None, until=None, categories=None, height=320):
    """Confirmed events per week by category: advances above the axis, reverses below."""
    categories = categories or list(Category.values)
    labels = dict(Category.choices)
    data = []
    for category in categories:
        for direction, sign in ((Direction.ADVANCE, 1), (Direction.REVERSE, -1)):
            rows = [r for r in weekly if r["category"] == category and r["direction"] == direction]
            word = "advance" if sign > 0 else "reverse"
            data.append(
                {
                    "type": "bar",
                    "x": [r["week"].isoformat() for r in rows],
                    "y": [sign * r["n"] for r in rows],
                    "customdata": [r["n"] for r in rows],
                    "width": [WEEK_MS * 0.85] * len(rows),
                    "xperiod": WEEK_MS,
                    "xperiod0": A_MONDAY,
                    "xperiodalignment": "middle",
                    "name": f"{labels[category]} {word}",
                    "legendgroup": category,
                    "showlegend": sign > 0,  # one legend entry per category: it toggles both directions
                    "marker": {
                        "color": CATEGORY_COLOURS[category],
                        "opacity": 1 if sign > 0 else 0.55,
                        "pattern": {"shape": "" if sign > 0 else "/"},
                    },
                    "hovertemplate": (
                        f"{labels[category]} · {word}<br>"
                        "week of %{x|%d %b %Y}: %{customdata}<extra></extra>"
                    ),
                }
            )
    layout = {
        "barmode": "relative",
        "bargap": 0.15,
        "yaxis": {
            "title": {"text": "events (reverse below 0)"},
            "zeroline": True,
            "zerolinecolor": "#222",
            "zerolinewidth": 1,
        },
        "xaxis": {"type": "date", **_week_range(since, until)},
        **_milestone_marks(milestones),
    }
    return _figure(data, layout, height=height)


def stage_progress(progress):
    """The editorial's three-stage sequence: of each stage's indicators, how many have appeared."""
    y = [f"Stage {p['stage']}" for p in progress]
    hover = [f"Stage {p['stage']}: {STAGE_NAMES[p['stage']]}" for p in progress]
    data = [
        {
            "type": "bar",
            "y": y,
            "x": [p["appeared"] for p in progress],
            "orientation": "h",
            "name": "appeared",
            "marker": {"color": "#2e7d32"},
            "text": [f"{p['appeared']} of {p['total']}" for p in progress],
            "textposition": "inside",
            "customdata": hover,
            "hovertemplate": "%{customdata}<br>%{x} appeared<extra></extra>",
        },
        {
            "type": "bar",
            "y": y,
            "x": [p["total"] - p["appeared"] for p in progress],
            "orientation": "h",
            "name": "not yet",
            "marker": {"color": "#d9d9d9"},
            "customdata": hover,
            "hovertemplate": "%{customdata}<br>%{x} not yet<extra></extra>",
        },
    ]
    layout = {"barmode": "stack", "yaxis": {"autorange": "reversed"}, "xaxis": {"dtick": 1}}
    return _figure(data, layout, height=220)


def heatmap(indicators, weeks, cells, milestones):
    """Indicators × weeks coloured by net direction (advances minus reverses); hover names the events."""
    z, text = [], []
    for ind in indicators:
        row_z, row_t = [], []
        for week in weeks:
            cell = cells.get((ind.pk, week))
            if not cell:
                row_z.append(None)
                row_t.append("")
                continue
            row_z.append(cell["advances"] - cell["reverses"])
            lines = [
                f"<b>{html.escape(ind.title)}</b> · week of {week:%d %b %Y}",
                f"{cell['advances']} advance, {cell['reverses']} reverse",
            ]
            for direction, title in cell["titles"]:
                arrow = "▲" if direction == Direction.ADVANCE else "▼"
                lines.append(f"{arrow} {html.escape(_shorten(title))}")
            more = cell["advances"] + cell["reverses"] - len(cell["titles"])
            if more > 0:
                lines.append(f"… and {more} more")
            row_t.append("<br>".join(lines))
        z.append(row_z)
        text.append(row_t)
    limit = max([abs(v) for row in z for v in row if v is not None] or [1])
    data = [
        {
            "type": "heatmap",
            "z": z,
            "x": [w.isoformat() for w in weeks],
            "y": [ind.title for ind in indicators],
            "text": text,
            "hoverinfo": "text",
            "hoverongaps": False,
            "zmid": 0,
            "zmin": -limit,
            "zmax": limit,
            "colorscale": [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#1b7837"]],
            "colorbar": {"title": {"text": "net"}, "thickness": 10},
            "xgap": 1,
            "ygap": 1,
        }
    ]
    layout = {
        "yaxis": {"autorange": "reversed", "automargin": True},
        "xaxis": {"type": "date"},
        **_milestone_marks(milestones),
    }
    return _figure(data, layout, height=max(320, 26 * len(indicators) + 80))


def _shorten(text, limit=90):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
