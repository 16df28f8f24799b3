"""manage.py import_feed: one JSON line per source, errors as JSON never tracebacks, exit code 0."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import run_manage
from tests.feedserver import FeedServer
from tracker.feeds.models import Entry, Story

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(str(p) for p in (ROOT / "fixtures" / "samples").glob("*.xml"))


def run(*sources) -> tuple[list[dict], str]:
    out, err = StringIO(), StringIO()
    call_command("import_feed", *sources, stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_samples_import_and_cluster_across_languages(db):
    assert len(SAMPLES) == 4
    lines, err = run(*SAMPLES)
    assert [line["status"] for line in lines] == ["ok"] * 4
    assert all(set(line) >= {"source", "status", "entries", "new", "proposed", "error"} for line in lines)
    assert sum(line["new"] for line in lines) == Entry.objects.count() == 16
    assert "[4/4]" in err  # progress on stderr
    # The 84-for-84 exchange is reported by all four sample outlets, in four languages: one story.
    swap = Story.objects.get(entries__title__contains="84 prisoners")
    assert swap.outlet_count == 4
    assert sorted(swap.entries.values_list("lang", flat=True)) == ["en", "fr", "ru", "uk"]
    # The Gaza item stays a story of its own.
    assert Story.objects.get(entries__title__startswith="Gaza").outlet_count == 1


def test_reimport_stores_nothing_twice(db):
    run(SAMPLES[0])
    [line], _ = run(SAMPLES[0])
    assert (line["status"], line["entries"], line["new"]) == ("ok", 6, 0)


def test_bad_and_hostile_sources_are_json_errors(db, tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<rss version="2.0"><channel><title>&b;</title></channel></rss>'
    )
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(256)) * 100)
    big = tmp_path / "big.xml"
    with open(big, "wb") as fh:
        fh.truncate(11 * 1024 * 1024)  # sparse: 11 MB on paper, larger than the 10 MB cap
    lines, _ = run(
        str(bomb),
        str(binary),
        str(big),
        str(tmp_path / "missing.xml"),
        str(tmp_path),
        "ftp://127.0.0.1/feed.xml",
        "file:///etc/passwd",
        SAMPLES[0],
    )
    statuses = [line["status"] for line in lines]
    assert statuses == ["error"] * 7 + ["ok"]
    errors = [line["error"] for line in lines[:7]]
    assert "billion laughs" in errors[0]
    assert "not an RSS or Atom feed" in errors[1]
    assert "larger than the limit" in errors[2]
    assert "no such file" in errors[3]
    assert "is a directory" in errors[4]
    assert "only files and http(s) URLs" in errors[5] and "only files" in errors[6]
    assert all("Traceback" not in e for e in errors)


def test_url_source_goes_through_the_safe_fetcher(db, settings):
    with FeedServer() as srv:
        srv.route("/feed.xml", body=(ROOT / "fixtures/samples/sample-fr.xml").read_bytes())
        srv.route("/redirect", status=302, redirect_to="http://10.0.0.1/feed.xml")
        url, redirect = srv.url("/feed.xml"), srv.url("/redirect")
        [blocked], _ = run(url)  # SSRF guard on by default
        assert blocked["status"] == "error" and "SSRF" in blocked["error"]
        settings.FEEDS_SSRF_ALLOWED_HOSTS = ["127.0.0.1"]
        [ok, private], _ = run(url, redirect)
    assert (ok["status"], ok["entries"], ok["new"]) == ("ok", 4, 4)
    assert private["status"] == "error" and "10.0.0.1" in private["error"]


def test_proposals_are_counted(db, monkeypatch):
    # The matcher is another layer's job; its contract: propose_for_entries(entry_ids, now, analyses) -> int,
    # with the gate's analysis of every entry, so that no text is read twice.
    from tracker.pipeline import pipeline

    calls = []

    def propose_for_entries(entry_ids, now, analyses):
        calls.append(list(entry_ids))
        assert set(analyses) == set(entry_ids)
        return len(entry_ids) // 2

    monkeypatch.setattr(pipeline, "propose_for_entries", propose_for_entries)
    [line], _ = run(SAMPLES[0])
    assert line["proposed"] == 3
    assert sorted(calls[0]) == sorted(Entry.objects.values_list("id", flat=True))


def test_misuse_is_a_command_error():
    with pytest.raises(CommandError):
        call_command("import_feed")


def test_real_process_exit_code_and_no_traceback(tmp_path):
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"\x00\xff" * 1000)
    env_db = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    import os

    env = dict(os.environ, DATABASE_URL=env_db, WATCHPOST_READ_DOTENV="0")
    assert run_manage("migrate", "-v0", env=env).returncode == 0
    proc = run_manage("import_feed", str(junk), SAMPLES[1], env=env)
    assert proc.returncode == 0
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["status"] for x in lines] == ["error", "ok"]
    assert "Traceback" not in proc.stderr
    bad = run_manage("import_feed", env=env)
    assert bad.returncode != 0
