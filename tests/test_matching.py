"""The multilingual matcher: text layer, rules, scope, direction, explanations, and quality floors."""

import json
from pathlib import Path

import pytest

from indicators.matching import MATCH_THRESHOLD, Matcher, RuleError, RuleSpec, ScopeSpec, detect_language
from indicators.matching.evaluate import evaluate, load_labelled
from indicators.matching.learned import LONG_SUMMARY
from indicators.matching.rules import fixture_matcher, load_specs
from indicators.matching.text import normalise, stems, tokenise

DATA = Path(__file__).resolve().parent / "data"
CATALOGUE_SLUGS = {
    "strike-reduction",
    "sector-stabilisation",
    "heavy-weapons-withdrawal",
    "verification-mechanism",
    "military-hotline",
    "ceasefire",
    "prisoner-exchange",
    "evacuation",
    "civilian-infrastructure-protection",
    "security-guarantees",
    "second-summit",
    "sanctions-relief",
    "peace-framework",
    "consequences-threat",
    "sanctions-pressure",
    "military-support-pressure",
}


@pytest.fixture(scope="module")
def matcher():
    return fixture_matcher()


def found(matcher, title, summary="", **kwargs):
    return {m.indicator: m.direction for m in matcher.match(title, summary, **kwargs)}


# --- text layer ---------------------------------------------------------------------------------------


def test_normalise_unifies_case_yo_and_apostrophes():
    assert normalise("Перемир’я ПЕРЕМИРʼЯ") == "перемир'я перемир'я"
    assert normalise("Ёлка") == "елка"
    assert tokenise(normalise("l’Ukraine d'accord, Putin’s plan")) == ["ukraine", "accord", "putin", "plan"]


@pytest.mark.parametrize(
    ("lang", "a", "b"),
    [
        ("uk", "обмін полоненими", "обміну полоненими"),
        ("uk", "масована атака", "масованої атаки"),
        ("ru", "обмен пленными", "обмена пленными"),
        ("ru", "массированный удар", "массированного удара"),
        ("fr", "échange de prisonniers", "échanges de prisonniers"),
        ("en", "prisoner swap", "prisoners swapped"),
    ],
)
def test_inflected_forms_share_stems(lang, a, b):
    content = [t for t in tokenise(normalise(a)) if t not in ("de",)]
    other = [t for t in tokenise(normalise(b)) if t not in ("de",)]
    assert stems(content, lang) == stems(other, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Russia and Ukraine swap prisoners", "en"),
        ("Trump gives Putin 50-day deadline or face severe sanctions", "en"),
        ("La Russie et l'Ukraine échangent des prisonniers", "fr"),
        ("Poutine menace", "fr"),
        ("Россия и Украина обменялись пленными", "ru"),
        ("Путин", "ru"),
        ("Росія та Україна обмінялися полоненими", "uk"),
        ("Путін", "uk"),
        ("Київ", "uk"),
    ],
)
def test_language_detection(text, lang):
    assert detect_language(text) == lang


# --- matching in four languages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "lang"),
    [
        ("Russia and Ukraine swap 84 prisoners each", "en"),
        ("La Russie et l'Ukraine procèdent à des échanges de prisonniers", "fr"),
        ("Россия и Украина провели обмен пленными", "ru"),
        ("Россия и Украина завершили этап обмена пленными", "ru"),
        ("Україна та Росія провели обмін полоненими", "uk"),
        ("Україна та Росія домовилися щодо обміну полоненими", "uk"),
    ],
)
def test_prisoner_exchange_in_every_language_and_inflection(matcher, title, lang):
    matches = matcher.match(title)
    assert [(m.indicator, m.direction, m.lang) for m in matches] == [("prisoner-exchange", "advance", lang)]


@pytest.mark.parametrize(
    ("title", "indicator"),
    [
        ("Kremlin says next prisoner exchange with Ukraine postponed", "prisoner-exchange"),
        ("Putin rejects Ukraine ceasefire proposal", "ceasefire"),
        ("Poutine rejette le cessez-le-feu proposé par Kiev", "ceasefire"),
        ("Трамп отменил встречу с Путиным в Будапеште", "second-summit"),
        ("Трамп скасував зустріч із Путіним у Будапешті", "second-summit"),
        ("Russia launches record drone attack on Ukraine", "strike-reduction"),
        ("Масована атака на Київ: рекордна кількість шахедів", "strike-reduction"),
        ("US eases sanctions on Russian fertiliser exports", "sanctions-pressure"),
        ("ВСУ атаковали нефтебазу в Брянской области", "civilian-infrastructure-protection"),
    ],
)
def test_reverse_cues_flip_direction(matcher, title, indicator):
    assert found(matcher, title).get(indicator) == "reverse"


def test_sanctions_eased_is_reverse_for_pressure_and_advance_for_relief(matcher):
    result = found(matcher, "EU eases sanctions on Russian banks")
    assert result == {"sanctions-pressure": "reverse", "sanctions-relief": "advance"}


def test_reverse_phrase_inside_a_longer_advance_term_does_not_flip(matcher):
    result = found(matcher, "Russia and Ukraine agree to halt strikes on energy infrastructure")
    assert result["civilian-infrastructure-protection"] == "advance"
    broken = found(matcher, "Russia violates energy truce with strikes on Kharkiv power plant")
    assert broken["civilian-infrastructure-protection"] == "reverse"


@pytest.mark.parametrize(
    ("title", "indicator"),
    [
        ("Floods in southern Russia force evacuation of thousands", "evacuation"),
        ("Inondations en Russie : évacuation de milliers d'habitants", "evacuation"),
        ("Паводок в Оренбурге: в России объявлена эвакуация жителей", "evacuation"),
        ("Повінь на Закарпатті: в Україні евакуація мешканців", "evacuation"),
        ("Hotline for relatives of Ukrainian prisoners reopens", "military-hotline"),
        ("Ruble exchange rates: Russia's currency swap with China", "prisoner-exchange"),
    ],
)
def test_exclusions_veto(matcher, title, indicator):
    verdicts = {v["rule"].indicator: v for v in matcher.analyse(title)["verdicts"]}
    assert verdicts[indicator]["excluded_by"], "the rule's terms fired and an exclusion vetoed them"
    assert indicator not in found(matcher, title)


@pytest.mark.parametrize(
    "title",
    [
        "Israel and Hamas complete prisoner swap as Gaza ceasefire holds",
        "Thailand and Cambodia agree ceasefire after border clashes",
        "US imposes new sanctions on Iranian oil exports",
        "Израиль и ХАМАС обменялись заложниками и пленными",
        "Таїланд і Камбоджа домовилися про припинення вогню",
    ],
)
def test_other_theatres_are_not_matches(matcher, title):
    assert matcher.match(title) == []
    assert matcher.match(title, theatre=True) == []


def test_theatre_cue_required_unless_theatre_feed(matcher):
    title = "'We are home': 84 defenders freed in prisoner exchange"
    assert matcher.match(title) == []
    assert found(matcher, title, theatre=True) == {"prisoner-exchange": "advance"}
    # A theatre cue in the summary is enough.
    assert found(matcher, title, "Ukraine's coordination HQ said the swap was mediated by the UAE.")


def test_several_indicators_in_one_entry_with_explanations(matcher):
    matches = matcher.match(
        "Prisoner swap goes ahead hours after Russia's heaviest air attack on Kyiv",
        "Zelensky said the exchange of 185 soldiers had not been derailed.",
    )
    by_slug = {m.indicator: m for m in matches}
    assert set(by_slug) == {"prisoner-exchange", "strike-reduction"}
    swap = by_slug["prisoner-exchange"]
    assert swap.direction == "advance"
    assert swap.rule == "prisoner-exchange:en"
    assert swap.lang == "en"
    assert "prisoner swap" in swap.terms
    assert MATCH_THRESHOLD <= swap.score <= 1
    assert "kyiv" in swap.theatre_cues
    strikes = by_slug["strike-reduction"]
    assert strikes.direction == "reverse"
    assert any("heaviest" in t for t in strikes.terms)
    payload = strikes.as_dict()
    assert json.loads(json.dumps(payload)) == payload
    assert set(payload) >= {"indicator", "direction", "score", "terms", "rule"}


def test_title_weighs_more_than_summary_and_more_terms_more_than_one(matcher):
    in_title = matcher.match("Prisoner exchange between Russia and Ukraine", threshold=0)[0]
    in_summary = matcher.match("Russia and Ukraine: latest", "A prisoner exchange took place.", threshold=0)
    both = matcher.match(
        "Prisoner exchange between Russia and Ukraine", "Bodies of fallen soldiers were also returned."
    )[0]
    assert in_summary and in_summary[0].score < in_title.score < both.score


def test_given_language_is_used(matcher):
    # Detected as French ("Kiev" and a French verb), but the caller knows better.
    assert matcher.match("Obmen plennymi", lang="ru") == []
    assert matcher.match("Россия и Украина провели обмен пленными", lang="ru")[0].lang == "ru"
    assert matcher.match("Россия и Украина провели обмен пленными")[0].lang == "ru"


def test_deterministic(matcher):
    title = "Trump threatens secondary tariffs as Senate readies Russia sanctions bill"
    first = [m.as_dict() for m in matcher.match(title)]
    assert all([m.as_dict() for m in matcher.match(title)] == first for _ in range(3))


# --- rule data ----------------------------------------------------------------------------------------


def test_fixtures_cover_every_indicator_in_every_language():
    rules, scopes = load_specs()
    assert {(r.indicator, r.lang) for r in rules} == {
        (slug, lang) for slug in CATALOGUE_SLUGS for lang in ("en", "fr", "ru", "uk")
    }
    for rule in rules:
        assert rule.terms or rule.reverse_terms, rule.rule_id
        assert rule.reverse_cues, f"{rule.rule_id} has no reverse cues"
    assert all(s.theatre and s.off_theatre for s in scopes)


def test_fixture_indicator_slugs_match_the_catalogue_fixture():
    catalogue = json.loads((DATA.parent.parent / "fixtures" / "indicators.json").read_text(encoding="utf-8"))
    assert {row["slug"] for row in catalogue} == CATALOGUE_SLUGS


@pytest.mark.parametrize(
    ("phrase", "message"),
    [("talks | lots", "must be a number"), ("talks | 3", "between 0 and 1"), ("ab*", "at least 3 letters")],
)
def test_bad_phrases_say_what_to_fix(phrase, message):
    with pytest.raises(RuleError, match=message):
        Matcher([RuleSpec("ceasefire", "en", terms=(phrase,))], [])


def test_prefix_and_exact_words():
    m = Matcher(
        [
            RuleSpec("prisoner-exchange", "uk", terms=("військовополон*",)),
            RuleSpec("ceasefire", "en", ("=us truce",)),
        ],
        [ScopeSpec("uk", theatre=("україна",)), ScopeSpec("en", theatre=("ukraine",))],
    )
    assert m.match("Україна повернула військовополонених")[0].terms == ["військовополонених"]
    assert m.match("Ukraine: US truce plan")[0].indicator == "ceasefire"
    assert m.match("Ukraine: uses truce plan") == []


# --- labelled set -------------------------------------------------------------------------------------


def test_labelled_set_is_built_from_its_sources():
    from tests.data.build_headlines import build

    assert (DATA / "headlines.jsonl").read_text(encoding="utf-8") == build()


def test_labelled_set_is_balanced_and_covers_every_indicator_in_every_language():
    rows = load_labelled()
    assert len(rows) >= 300
    per_lang = {lang: [r for r in rows if r["lang"] == lang] for lang in ("en", "fr", "ru", "uk")}
    assert min(len(v) for v in per_lang.values()) >= 75
    for lang, lang_rows in per_lang.items():
        labels = {(x["indicator"], x["direction"]) for r in lang_rows for x in r["labels"]}
        assert {slug for slug, _ in labels} == CATALOGUE_SLUGS, lang
        assert sum(1 for r in lang_rows if not r["labels"]) >= 15, f"{lang}: too few negatives"
        assert sum(1 for _, d in labels if d == "reverse") >= 12, f"{lang}: too few reversals"
    assert {r["split"] for r in rows} == {"dev", "test", "holdout", "long2", "unseen2", "overlaps-holdout"}


# The rules alone, floors set from measured figures with a margin: a rule change that breaks matching fails
# here. "src" is the first set, written next to the rules (P 0.89 R 0.93 direction 0.96); "train" and
# "retired" (the first two holdouts) and "holdout" were written apart by other writers (train P 0.82
# R 0.55; retired P 0.81 R 0.60; holdout P 0.82 R 0.69): the rules' recall on text nobody here wrote is
# what the learned model is for (tests/test_learned_matching.py). "train-long" are the training items
# whose summaries run several sentences (P 0.72 R 0.66, 15% of negatives matched: a later sentence
# recalling an exchange or a strike fires its rule); "train" the others.
FLOORS = {
    "src": {"precision": 0.85, "recall": 0.88, "direction": 0.93, "negatives": 0.03, "languages": 1.0},
    "train": {"precision": 0.78, "recall": 0.47, "direction": 0.75, "negatives": 0.03, "languages": 0.99},
    "train-long": {"precision": 0.66, "recall": 0.6, "direction": 0.75, "negatives": 0.18, "languages": 0.99},
    "retired": {"precision": 0.75, "recall": 0.58, "direction": 0.78, "negatives": 0.03, "languages": 0.99},
    "holdout": {"precision": 0.75, "recall": 0.50, "direction": 0.75, "negatives": 0.03, "languages": 0.99},
}


@pytest.mark.parametrize("source", ["src", "train", "train-long", "retired", "holdout"])
def test_labelled_set_quality_floors(matcher, source):
    rows = [r for r in load_labelled() if r["source"] == source.removesuffix("-long")]
    if source.startswith("train"):
        rows = [r for r in rows if (len(r.get("summary") or "") > LONG_SUMMARY) == source.endswith("-long")]
    report = evaluate(matcher, rows)
    floors = FLOORS[source]
    overall = report.overall
    assert overall.precision >= floors["precision"]
    assert overall.recall >= floors["recall"]
    assert overall.direction_accuracy >= floors["direction"]
    assert overall.negatives_share <= floors["negatives"]
    for lang, counts in report.by_lang.items():
        assert counts.recall >= floors["recall"] - 0.1, lang
    assert report.lang_detected_ok >= floors["languages"] * len(rows)
