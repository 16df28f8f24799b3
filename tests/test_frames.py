"""How a report frames what it reports (indicators/matching/frames.py): conditional, negated, denial and
prospective cues in the four languages, read as features by models trained with them, named in the
explanation of each signal."""

import numpy as np
import pytest

from indicators.matching import frames
from indicators.matching.learned import LearnedModel, rule_features

CASES = [
    ("en", "EU warns of new sanctions if Moscow stalls on a ceasefire", "conditional"),
    ("en", "Trump threatens Russia with 'very severe consequences'", "conditional"),
    ("en", "Washington is not considering Tomahawks for Kyiv, official says", "negated"),
    ("en", "Kremlin rules out a meeting with Zelensky this year", "negated"),
    ("en", "Kyiv denies Moscow's claim to have taken Ivanivka", "denial"),
    ("en", "Putin and Trump could meet in Budapest within two weeks", "prospective"),
    ("fr", "Bruxelles menace Moscou de nouvelles sanctions faute de cessez-le-feu", "conditional"),
    ("fr", "Si la Russie refuse, les sanctions tomberont, prévient Paris", "conditional"),
    ("fr", "Le Kremlin n'envisage pas de rencontre avec Zelensky", "negated"),
    ("fr", "Kyiv dément avoir perdu le contrôle de Pokrovsk", "denial"),
    ("fr", "Un second sommet pourrait se tenir à Budapest", "prospective"),
    ("ru", "Трамп пригрозил России серьёзными последствиями", "conditional"),
    ("ru", "Если Москва затянет переговоры, последуют санкции", "conditional"),
    ("ru", "Песков: Кремль не рассматривает встречу с Зеленским", "negated"),
    ("ru", "Минобороны опровергло сообщения об отступлении", "denial"),
    ("ru", "Путин и Трамп могут встретиться в Будапеште", "prospective"),
    ("uk", "Якщо Росія не погодиться, США запровадять нові санкції", "conditional"),
    ("uk", "Київ відкинув вимогу вивести війська з Донбасу", "negated"),
    ("uk", "ЗСУ спростували заяву про захоплення Іванівки", "denial"),
    ("uk", "Зеленський планує зустріч з Трампом наступного тижня", "prospective"),
]


@pytest.mark.parametrize("lang, title, frame", CASES)
def test_each_frame_is_read_in_each_language(lang, title, frame):
    assert frames.found(title, "", lang).get(frame) == 1.0, (title, frames.found(title, "", lang))


@pytest.mark.parametrize(
    "lang, title",
    [
        ("en", "Russia and Ukraine swap 146 prisoners of war in UAE-brokered deal"),
        ("fr", "La Russie et l'Ukraine échangent 146 prisonniers de guerre"),
        ("ru", "Россия и Украина обменялись 146 военнопленными"),
        ("uk", "Україна повернула додому 146 захисників"),
    ],
)
def test_a_plain_report_of_a_done_thing_has_no_frame(lang, title):
    assert frames.found(title, "", lang) == {}


def test_a_cue_in_the_summary_only_counts_half():
    found = frames.found("Sanctions package adopted", "Further measures will come if the talks fail.", "en")
    assert found == {"conditional": 0.5}
    assert frames.vector(found).tolist() == [0.5, 0.0, 0.0, 0.0]


def test_models_read_frames_only_if_trained_with_them():
    analysis = {"scope": "in scope", "verdicts": [], "frames": {"negated": 1.0}}
    indicators = ["ceasefire", "evacuation"]
    plain = rule_features(analysis, indicators)
    framed = rule_features(analysis, indicators, with_frames=True)
    assert plain.shape == (6,) and framed.shape == (6 + len(frames.FRAMES),)
    assert framed[6 + frames.FRAMES.index("negated")] == 1.0

    def model(meta):
        n = len(indicators)
        return LearnedModel(
            version="v",
            encoder="e",
            indicators=indicators,
            threshold=0.5,
            no_cue_threshold=None,
            weights=np.zeros((n, 1)),
            bias=np.zeros(n),
            direction_weights=np.zeros((n, 1)),
            direction_bias=np.zeros(n),
            example_vectors=np.zeros((0, 1), np.float16),
            meta=meta,
        )

    assert model({}).rule_features(analysis).shape == plain.shape  # the shipped model, trained before
    assert model({"frames": True}).rule_features(analysis).shape == framed.shape
