"""`manage.py match`: JSON lines in, JSON lines out, nothing written."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from indicators.models import Event, MatchRule
from tests.helpers import run_manage

ROOT = Path(__file__).resolve().parent.parent


def run(lines, *args):
    stdin = io.StringIO("".join(line + "\n" for line in lines))
    out = io.StringIO()
    call_command("match", *args, stdin=stdin, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.django_db
def test_one_line_out_per_line_in_in_four_languages():
    lines = [
        json.dumps({"id": "en1", "title": "Russia and Ukraine swap 146 prisoners of war"}),
        json.dumps({"id": 2, "title": "Poutine rejette le cessez-le-feu proposé par Kiev", "lang": "fr"}),
        json.dumps(
            {"id": "ru", "title": "Трамп отменил встречу с Путиным", "summary": "Саммит в Будапеште отложен"}
        ),
        json.dumps(
            {"id": "uk", "title": "Росія запустила по Україні рекордну кількість дронів", "lang": "uk-UA"}
        ),
        json.dumps({"id": "neg", "title": "Thailand and Cambodia agree ceasefire"}),
    ]
    out = run(lines)
    assert [o["id"] for o in out] == ["en1", 2, "ru", "uk", "neg"]
    got = [[(m["indicator"], m["direction"]) for m in o["matches"]] for o in out]
    assert got == [
        [("prisoner-exchange", "advance")],
        [("ceasefire", "reverse")],
        [("second-summit", "reverse")],
        [("strike-reduction", "reverse")],
        [],
    ]
    first = out[0]["matches"][0]
    assert set(first) == {"indicator", "direction", "score", "terms"}
    assert 0.5 <= first["score"] <= 1 and first["terms"]


@pytest.mark.django_db
def test_explain_adds_rule_and_language():
    out = run([json.dumps({"id": 1, "title": "Россия и Украина провели обмен пленными"})], "--explain")
    match = out[0]["matches"][0]
    assert (match["rule"], match["lang"]) == ("prisoner-exchange:ru", "ru")


@pytest.mark.django_db
def test_bad_lines_give_an_error_line_and_the_run_goes_on():
    out = run(
        [
            "{not json",
            "[1, 2]",
            json.dumps({"id": 7}),
            json.dumps({"id": 8, "title": "Ukraine talks", "lang": "de"}),
            json.dumps({"id": 9, "title": 42}),
            "",
            json.dumps({"id": 10, "title": "Russia and Ukraine swap prisoners of war"}),
        ]
    )
    assert out[0]["id"] is None and "not valid JSON" in out[0]["error"]
    assert out[1]["id"] is None and "JSON object" in out[1]["error"]
    assert out[2] == {"id": 7, "error": "line 3: 'title' is required and must be text"}
    assert out[3]["id"] == 8 and "'lang' must be one of en, fr, ru, uk" in out[3]["error"]
    assert out[4]["id"] == 9 and "title" in out[4]["error"]
    assert out[5]["id"] == 10 and out[5]["matches"][0]["indicator"] == "prisoner-exchange"
    assert len(out) == 6  # the blank line is not an input


@pytest.mark.django_db
def test_touches_nothing_and_uses_the_database_rules():
    MatchRule.objects.filter(indicator__slug="prisoner-exchange", language="en").update(enabled=False)
    from indicators.matching.store import clear_cache

    clear_cache()
    out = run([json.dumps({"id": 1, "title": "Russia and Ukraine swap prisoners of war"})])
    assert out == [{"id": 1, "matches": []}]
    assert not Event.objects.exists()
    clear_cache()


def test_real_process_with_invalid_utf8_and_no_traceback(tmp_path):
    data = b'{"id": 1, "title": "Russia and Ukraine swap prisoners of war"}\n\xff\xfe garbage\n'
    proc = run_manage(
        "match",
        "--fixtures",
        input=data,
        text=False,
        env={
            "PATH": "/usr/bin:/bin",
            "WATCHPOST_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        },
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert out[0]["matches"][0]["indicator"] == "prisoner-exchange"
    assert out[1]["id"] is None and "error" in out[1]
    assert b"Traceback" not in proc.stderr
