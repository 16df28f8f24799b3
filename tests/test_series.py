"""Measured series (issue #13, section 1): the CSV import and its JSON lines, a point's history, the
baseline sentence and series.json computed from the points written here, the proposal when the 28-day mean
crosses a threshold (once per crossing, never confirmed), the exports' 400s, the analysts' form, and the
sentence on the indicator page and the overview's card."""

import csv
import datetime
import io
import json
import statistics

import pytest
from django.core.management import CommandError, call_command

from indicators import series as svc
from indicators.models import Event, Series, SeriesPoint, SeriesPointRevision
from tests.helpers import ROOT, at, figure, indicator_card

pytestmark = pytest.mark.django_db

NOW = at(datetime.date(2025, 12, 1))
BASE_SINCE, BASE_UNTIL = datetime.date(2025, 7, 1), datetime.date(2025, 8, 14)
KEYS = {"source", "status", "rows", "new", "updated", "errors"}


def drones():
    return Series.objects.get(slug="drones-launched")


def days(first, n):
    return [first + datetime.timedelta(days=i) for i in range(n)]


def write(tmp_path, lines, name="points.csv", header="series,date,value"):
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def run_import(*paths):
    out = io.StringIO()
    call_command("import_series", *map(str, paths), stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def put(series, values, *, now=NOW):
    """Points written through the service, as the import and the form do; then the signal check."""
    for day, value in values.items():
        svc.save_point(series.pk, day, value, now=now, actor_label="test")
    return svc.points_changed([series.pk], now=now)


def baseline_values():
    # Varying figures over the whole baseline span (45 days).
    return {d: 80 + (i * 7) % 41 for i, d in enumerate(days(BASE_SINCE, 45))}


# --- Seeding ------------------------------------------------------------------------------------------


def test_the_migration_seeds_the_two_strike_series_without_figures():
    seeded = {s.slug: s for s in Series.objects.select_related("indicator")}
    assert {"drones-launched", "missiles-launched"} <= set(seeded)
    for slug in ("drones-launched", "missiles-launched"):
        s = seeded[slug]
        assert (s.unit, s.indicator.slug, s.drop_is_advance) == ("per day", "strike-reduction", True)
        assert (s.baseline_since, s.baseline_until) == (BASE_SINCE, BASE_UNTIL)
        assert (s.advance_threshold, s.reverse_threshold) == (-0.25, 0.25)
    assert not SeriesPoint.objects.exists()  # no invented numbers shipped as real data


def test_a_series_owns_its_invariants():
    s = drones()
    s.advance_threshold = 0.3  # a drop is an advance: the advance threshold must be a drop
    s.baseline_until = datetime.date(2025, 6, 1)
    with pytest.raises(Exception) as exc:
        s.full_clean()
    assert "advance_threshold" in exc.value.message_dict and "baseline_until" in exc.value.message_dict
    point = SeriesPoint(series=s, date=datetime.date(2025, 9, 1), value=-1)
    with pytest.raises(Exception) as exc:
        point.full_clean()
    assert "value" in exc.value.message_dict


# --- Import -------------------------------------------------------------------------------------------


def test_import_good_then_repeated_then_corrected_keeps_the_history(tmp_path):
    lines = [
        "drones-launched,2025-09-01,410,https://example.org/a,",
        "drones-launched,2025-09-02,388,,",
        "missiles-launched,2025-09-01,12,,",
    ]
    path = write(tmp_path, lines, header="series,date,value,source_url,note")
    [first] = run_import(path)
    assert set(first) == KEYS
    assert first == {"source": str(path), "status": "ok", "rows": 3, "new": 3, "updated": 0, "errors": []}
    assert SeriesPoint.objects.count() == 3

    [again] = run_import(path)
    assert (again["rows"], again["new"], again["updated"], again["errors"]) == (3, 0, 0, [])
    assert SeriesPointRevision.objects.count() == 3  # one per point added, nothing for the repeat

    fixed = write(tmp_path, ["drones-launched,2025-09-02,395"], name="fix.csv")
    [corrected] = run_import(fixed)
    assert (corrected["new"], corrected["updated"]) == (0, 1)
    point = SeriesPoint.objects.get(series__slug="drones-launched", date=datetime.date(2025, 9, 2))
    assert point.value == 395
    history = [(r.old_value, r.new_value, r.actor_label) for r in point.revisions.all()]
    assert history == [(None, 388, "points.csv"), (388, 395, "fix.csv")]


def test_bad_rows_are_named_with_their_line_and_the_good_rows_go_in(tmp_path):
    lines = [
        "# a comment line, skipped",
        "drones-launched,2025-09-01,410,",  # line 3: good
        "shaheds,2025-09-02,10,",  # line 4
        "drones-launched,2025-02-30,10,",  # line 5
        "drones-launched,2025-09-03,lots,",  # line 6
        "drones-launched,2025-09-04,-3,",  # line 7
        "drones-launched,2025-09-05",  # line 8
        "",
        "missiles-launched,2025-09-01,7,",  # line 10: good
        "drones-launched,2025-09-01,411,",  # line 11: the same day twice
        "missiles-launched,2025-09-02,7,x\x00y",  # line 12: a NUL (PostgreSQL refuses it)
    ]
    [line] = run_import(write(tmp_path, lines, header="series,date,value,note"))
    assert set(line) == KEYS
    assert (line["status"], line["rows"], line["new"], line["updated"]) == ("ok", 9, 2, 0)
    errors = {e["line"]: e["error"] for e in line["errors"]}
    assert sorted(errors) == [4, 5, 6, 7, 8, 11, 12]
    assert "unknown series 'shaheds'" in errors[4] and "drones-launched" in errors[4]
    assert "impossible date '2025-02-30'" in errors[5] and "YYYY-MM-DD" in errors[5]
    assert "not a number" in errors[6]
    assert "negative" in errors[7]
    assert "expected 4 columns" in errors[8]
    assert "NUL" in errors[12]
    assert "already given on line 3" in errors[11]
    assert SeriesPoint.objects.get(series__slug="drones-launched").value == 410


def test_unreadable_file_and_wrong_header_are_error_lines_and_the_next_file_still_goes(tmp_path):
    wrong = write(tmp_path, ["drones-launched,2025-09-01,410"], name="wrong.csv", header="name,day,value")
    good = write(tmp_path, ["drones-launched,2025-09-01,410"], name="good.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    missing, bad_header, not_text, ok = run_import(tmp_path / "absent.csv", wrong, binary, good)
    for line in (missing, bad_header, not_text):
        assert set(line) == KEYS and line["status"] == "error" and line["new"] == 0
    assert "Cannot read" in missing["errors"][0]["error"]
    assert (
        "Wrong header" in bad_header["errors"][0]["error"]
        and "series,date,value" in bad_header["errors"][0]["error"]
    )
    assert "UTF-8" in not_text["errors"][0]["error"]
    assert (ok["status"], ok["new"]) == ("ok", 1)


def test_no_file_is_a_usage_error():
    with pytest.raises(CommandError, match="usage: manage.py import_series FILE"):
        call_command("import_series")


def test_the_shipped_sample_is_marked_as_a_sample_and_imports_cleanly():
    path = ROOT / "fixtures" / "samples" / "series-sample.csv"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# SAMPLE, NOT REAL DATA")
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert rows and all(r["note"] == "sample, not real data" for r in rows)
    assert all(".sample.invalid/" in r["source_url"] for r in rows)
    [line] = run_import(path)
    assert (line["status"], line["new"], line["errors"]) == ("ok", len(rows), [])


# --- Reading: the sentence and series.json ------------------------------------------------------------


def test_sentence_and_series_json_are_computed_from_the_points(client, bob):
    base = baseline_values()
    recent = {d: 120 + (i * 13) % 37 for i, d in enumerate(days(datetime.date(2025, 9, 1), 28))}
    put(drones(), {**base, **recent})
    base_mean, recent_mean = statistics.mean(base.values()), statistics.mean(recent.values())
    change = recent_mean / base_mean - 1
    assert change > 0.25  # the inputs make a rise

    client.force_login(bob)
    body = client.get("/export/series.json?series=drones-launched").json()
    assert body["series"] == "drones-launched" and body["unit"] == "per day"
    assert body["points"] == [
        {"date": d.isoformat(), "value": v} for d, v in sorted({**base, **recent}.items())
    ]
    assert body["baseline"] == {
        "since": "2025-07-01",
        "until": "2025-08-14",
        "mean": pytest.approx(base_mean),
    }
    assert body["recent"]["days"] == 28 and body["recent"]["mean"] == pytest.approx(recent_mean)
    assert body["change"] == pytest.approx(change)

    expected = (
        f"28-day mean {round(recent_mean)} a day (to 28 Sep 2025), {round(change * 100)}% above the "
        f"pre-summit baseline of {round(base_mean)}"
    )
    assert expected in body["sentence"]
    page = client.get("/series/drones-launched/")
    assert expected in page.content.decode()


def test_too_few_points_are_said_and_change_is_null(client, bob):
    put(drones(), {d: 50 for d in days(datetime.date(2025, 9, 1), 5)})
    client.force_login(bob)
    body = client.get("/export/series.json?series=drones-launched").json()
    assert body["change"] is None and body["recent"]["mean"] is None
    assert "Too few points for a 28-day mean" in body["sentence"] and "5 of the 28 days" in body["sentence"]
    assert body["baseline"]["mean"] is None


def test_series_csv_lists_the_points(client, bob):
    put(drones(), {datetime.date(2025, 9, 1): 410, datetime.date(2025, 9, 2): 12.5})
    client.force_login(bob)
    response = client.get("/export/series.csv?series=drones-launched")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["series", "date", "value", "source_url", "note"]
    assert [r[1:3] for r in rows[1:]] == [["2025-09-01", "410"], ["2025-09-02", "12.5"]]


@pytest.mark.parametrize("query", ["", "?series=", "?series=shaheds", "?series=%00"])
@pytest.mark.parametrize("path", ["/export/series.json", "/export/series.csv"])
def test_a_missing_or_unknown_series_is_a_400_saying_what_to_pass(client, bob, path, query):
    client.force_login(bob)
    response = client.get(path + query)
    assert response.status_code == 400
    body = response.json()
    assert "pass ?series=SLUG" in body["error"] and "drones-launched" in body["error"]


def test_series_exports_need_an_account_unless_public(client, settings):
    assert client.get("/export/series.json?series=drones-launched").status_code == 302
    settings.WATCHPOST_PUBLIC_DASHBOARDS = True
    assert client.get("/export/series.json?series=drones-launched").status_code == 200


# --- The signal ---------------------------------------------------------------------------------------


def test_crossing_the_threshold_proposes_one_event_until_the_mean_returns_and_crosses_again():
    s = drones()
    base = {d: 100 for d in days(BASE_SINCE, 45)}
    assert put(s, base) == []  # no recent window apart from the baseline itself: inside the band
    low = {d: 60 for d in days(datetime.date(2025, 9, 1), 28)}
    [event] = put(s, low)
    change = 60 / 100 - 1
    assert (event.state, event.origin, event.direction) == ("proposed", "feed", "advance")
    assert event.indicator.slug == "strike-reduction"
    assert (
        event.title == f"Drones launched: 28-day mean {round(-change * 100)}% below the pre-summit baseline"
    )
    assert event.reviews.get().actor_label == "series"
    assert event.match_explanation["series"]["change"] == pytest.approx(change)
    assert "28-day mean 60 a day" in event.summary and "baseline of 100" in event.summary
    assert list(event.sources.values_list("url", flat=True)) == [
        "http://127.0.0.1:8000/series/drones-launched/"
    ]
    s.refresh_from_db()
    assert (s.last_signal, s.last_signal_on) == ("below", datetime.date(2025, 9, 28))

    # The same figures again, or one more low day: no second proposal.
    assert put(s, low) == []
    assert put(s, {datetime.date(2025, 9, 29): 55}) == []
    assert Event.objects.count() == 1

    # Back inside the band (corrected upwards), then below again: one more proposal.
    assert put(s, {d: 100 for d in days(datetime.date(2025, 9, 2), 28)}) == []
    s.refresh_from_db()
    assert s.last_signal == ""
    [again] = put(s, {d: 50 for d in days(datetime.date(2025, 10, 1), 28)})
    assert again.direction == "advance" and Event.objects.filter(state="proposed").count() == 2
    assert not Event.objects.filter(state="confirmed").exists()


def test_a_rise_above_the_reverse_threshold_proposes_a_reverse_with_the_latest_source():
    s = drones()
    put(s, {d: 100 for d in days(BASE_SINCE, 45)})
    for d in days(datetime.date(2025, 9, 1), 28):
        svc.save_point(s.pk, d, 140, now=NOW, source_url=f"https://example.org/{d}")
    [event] = svc.points_changed([s.pk], now=NOW)
    assert event.direction == "reverse" and event.state == "proposed"
    assert "40% above" in event.title
    assert list(event.sources.values_list("url", flat=True)) == ["https://example.org/2025-09-28"]


def test_thresholds_are_editable_per_series():
    s = drones()
    s.advance_threshold = -0.5
    s.save()
    put(s, {d: 100 for d in days(BASE_SINCE, 45)})
    assert put(s, {d: 60 for d in days(datetime.date(2025, 9, 1), 28)}) == []  # 40% below: inside
    assert put(s, {d: 40 for d in days(datetime.date(2025, 9, 1), 28)})  # 60% below: crossed


def test_an_import_that_crosses_proposes(tmp_path):
    lines = [f"drones-launched,{d},100" for d in days(BASE_SINCE, 45)]
    lines += [f"drones-launched,{d},50" for d in days(datetime.date(2025, 9, 1), 28)]
    run_import(write(tmp_path, lines))
    run_import(write(tmp_path, lines))
    assert Event.objects.filter(state="proposed", indicator__slug="strike-reduction").count() == 1


# --- The analysts' form -------------------------------------------------------------------------------


def test_an_analyst_adds_and_corrects_a_point_in_the_browser(client, alice):
    client.force_login(alice)
    page = client.get("/series/drones-launched/")
    assert page.status_code == 200 and "Add or correct a point" in page.content.decode()
    response = client.post("/series/drones-launched/points/", {"date": "2025-09-01", "value": "410"})
    assert response.status_code == 302
    response = client.post(
        "/series/drones-launched/points/",
        {"date": "2025-09-01", "value": "415", "source_url": "https://example.org/fix"},
        follow=True,
    )
    assert "Corrected 1 Sep 2025 to 415" in response.content.decode()
    point = SeriesPoint.objects.get(series__slug="drones-launched")
    assert (point.value, point.source_url) == (415, "https://example.org/fix")
    assert [(r.old_value, r.new_value, r.actor_id) for r in point.revisions.all()] == [
        (None, 410, alice.pk),
        (410, 415, alice.pk),
    ]
    html = response.content.decode()
    assert "410 → 415" in html and "alice" in html


@pytest.mark.parametrize(
    "data, says",
    [
        ({"date": "2025-09-01", "value": "-5"}, "negative"),
        ({"date": "2025-09-01", "value": "many"}, "not a number"),
        ({"date": "2025-02-30", "value": "5"}, "YYYY-MM-DD"),
        ({"date": "2099-01-01", "value": "5"}, "in the future"),
        ({"date": "2025-09-01", "value": "5", "source_url": "javascript:alert(1)"}, "http"),
        ({"date": "", "value": ""}, "required"),
    ],
)
def test_bad_input_in_the_form_says_what_to_fix(client, alice, data, says):
    client.force_login(alice)
    response = client.post("/series/drones-launched/points/", data)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not SeriesPoint.objects.exists()


def test_viewers_and_visitors_cannot_write_points(client, bob):
    data = {"date": "2025-09-01", "value": "410"}
    assert client.post("/series/drones-launched/points/", data).status_code == 302  # to the login page
    client.force_login(bob)
    page = client.get("/series/drones-launched/")
    assert page.status_code == 200 and "Add or correct a point" not in page.content.decode()
    assert client.post("/series/drones-launched/points/", data).status_code == 403
    assert not SeriesPoint.objects.exists()


def test_unknown_series_page_is_404(client, bob):
    client.force_login(bob)
    assert client.get("/series/shaheds/").status_code == 404


# --- The page's figure and the sentence elsewhere -----------------------------------------------------


def test_series_page_figure_has_daily_values_means_and_the_baseline(client, bob):
    import plotly.graph_objects as go

    base = baseline_values()
    put(drones(), base)
    client.force_login(bob)
    fig = figure(client.get("/series/drones-launched/"), "fig-series")
    go.Figure(fig)  # valid Plotly
    names = [t["name"] for t in fig["data"]]
    assert names == ["daily", "7-day mean", "28-day mean", "pre-summit baseline"]
    assert fig["data"][0]["y"] == [base[d] for d in sorted(base)]
    assert fig["data"][3]["x"] == ["2025-07-01", "2025-08-14"]
    assert fig["data"][3]["y"][0] == pytest.approx(statistics.mean(base.values()))
    last7 = [base[d] for d in sorted(base)[-7:]]
    assert fig["data"][1]["y"][-1] == pytest.approx(statistics.mean(last7))


def test_indicator_page_and_overview_card_show_the_sentence(client, bob):
    put(drones(), {**baseline_values(), **{d: 40 for d in days(datetime.date(2025, 9, 1), 28)}})
    sentence = svc.read(drones()).sentence
    assert "below the pre-summit baseline" in sentence
    client.force_login(bob)
    indicator = client.get("/indicators/strike-reduction/").content.decode()
    assert sentence in indicator and 'href="/series/drones-launched/"' in indicator
    card = indicator_card(client.get("/").content.decode(), "strike-reduction")
    assert sentence in card and 'href="/series/drones-launched/"' in card
    assert "No figure yet for missiles launched." in card
    other = indicator_card(client.get("/").content.decode(), "prisoner-exchange")
    assert "series-line" not in other


def test_the_cached_overview_follows_a_new_point(client, bob):
    client.force_login(bob)
    assert "No figure yet for drones launched." in client.get("/").content.decode()
    put(drones(), {datetime.date(2025, 9, 1): 410})
    html = client.get("/").content.decode()
    assert "No figure yet for drones launched." not in html and "Too few points" in html


# --- The admin ----------------------------------------------------------------------------------------


def test_an_admin_adds_a_series_and_reads_a_points_history(client, admin_user):
    from indicators.models import Indicator

    client.force_login(admin_user)
    assert client.get("/admin/indicators/series/add/").status_code == 200
    form = {
        "slug": "territory-changing-hands",
        "title": "Territory changing hands",
        "unit": "km² per week",
        "source": "Open-source maps",
        "indicator": Indicator.objects.get(slug="sector-stabilisation").pk,
        "baseline_since": "2025-07-01",
        "baseline_until": "2025-08-14",
        "drop_is_advance": "on",
        "advance_threshold": "-0.25",
        "reverse_threshold": "0.25",
        "position": "3",
        "points-TOTAL_FORMS": "0",
        "points-INITIAL_FORMS": "0",
    }
    assert client.post("/admin/indicators/series/add/", form).status_code == 302
    added = Series.objects.get(slug="territory-changing-hands")
    bad = {**form, "slug": "other", "advance_threshold": "0.3"}
    response = client.post("/admin/indicators/series/add/", bad)
    assert response.status_code == 200 and "between -1 and 0" in response.content.decode()
    svc.save_point(added.pk, datetime.date(2025, 9, 1), 3, now=NOW, actor_label="a.csv")
    svc.save_point(added.pk, datetime.date(2025, 9, 1), 4, now=NOW, actor_id=admin_user.pk)
    point = SeriesPoint.objects.get(series=added)
    assert client.get(f"/admin/indicators/series/{added.pk}/change/").status_code == 200
    page = client.get(f"/admin/indicators/seriespoint/{point.pk}/change/").content.decode()
    assert "a.csv" in page and "root" in page
