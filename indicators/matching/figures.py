"""Read the night's figures from a headline or summary, in English, French, Russian and Ukrainian: "Russia
launched 810 drones and 13 missiles overnight", "810 drones et 13 missiles", "810 беспилотников и 13
ракет", "810 дронів та 13 ракет". Pure functions: no database.

`night_figures` returns {series slug: number} for `drones-launched` and `missiles-launched`, read sentence
by sentence, and only from a sentence that reports an attack: a verb of launching or attacking, or the
night ("overnight", "cette nuit", "за ночь", "вночі"). A sentence about deliveries, production or plans
("Ukraine received 50 drones", "plans to build 1,000 drones"), a period's total ("since January", "this
month"), or Ukraine's own drones is not read. Figures after "shot down" / "сбито" / "збито" are the
interceptions, not the launches: the sentence is read up to that cue only.

`night_of` gives the day the figures are entered on: the series say "Enter the statement's date as the
night's date" (fixtures/series.json), so the morning statement's day, in Kyiv, where it is dated.
"""

import datetime
import re
from zoneinfo import ZoneInfo

DRONES, MISSILES = "drones-launched", "missiles-launched"
KYIV = ZoneInfo("Europe/Kyiv")

NOUNS = {
    "en": {DRONES: r"drones?|uavs?|shaheds?", MISSILES: r"missiles?"},
    "fr": {DRONES: r"drones?", MISSILES: r"missiles?"},
    "ru": {
        DRONES: r"беспилотник\w*|дрон(?:а|ов|ы|ами|ах|ам)?|бпла|шахед\w*",
        MISSILES: r"ракет(?:а|ы|у|ой|ами|ах|ам)?",
    },
    "uk": {
        DRONES: r"безпілотник\w*|дрон(?:а|ів|и|ами|ах|ам)?|бпла|шахед\w*",
        MISSILES: r"ракет(?:а|и|у|ою|ами|ах|ам)?",
    },
}
# A verb of launching or attacking, or the night: the sentence reports a strike.
ATTACK = {
    "en": r"launch\w*|fired|attack\w*|struck|overnight|during the night|last night",
    "fr": r"lanc\w*|tir[ée]\w*|attaqu\w*|frapp\w*|cette nuit|dans la nuit|pendant la nuit|durant la nuit",
    "ru": r"запусти\w*|выпусти\w*|атаков\w*|атакова\w*|ударил\w*|за ночь|ночью|в ночь",
    "uk": r"запусти\w*|випусти\w*|атакува\w*|вдари\w*|вночі|уночі|за ніч|в ніч|у ніч",
}
# Deliveries, production, plans, a period's total, or Ukraine's own drones: not the night's launches.
NOT_LAUNCHED = {
    "en": r"receiv\w*|deliver\w*|build\w*|produc\w*|manufactur\w*|buy\w*|bought|purchas\w*|order\w*|"
    r"supply|supplied|plans?|planned|pledg\w*|donat\w*|since|months?|weeks?|years?|in (?:19|20)\d\d|"
    r"ukrain\w* (?:launched|attacked|fired|struck)|ukrainian (?:\w+ )?(?:drones?|uavs?)|over russia|"
    r"russian (?:territory|regions)",
    "fr": r"re[çc]u\w*|recev\w*|livr\w*|constru\w*|produi\w*|produc\w*|fabriqu\w*|achet\w*|command\w*|"
    r"prévoi\w*|projet\w*|depuis|mois|semaines?|années?|en (?:19|20)\d\d|"
    r"l'ukraine a (?:lancé|tiré|attaqué)|drones ukrainiens|au-dessus de la russie|territoire russe",
    "ru": r"получил\w*|получит\w*|постав\w*|постро\w*|производ\w*|произвед\w*|закуп\w*|купи\w*|заказ\w*|"
    r"планир\w*|за (?:\w+ )?(?:месяц|недел|год)\w*|с начала|в (?:этом|прошлом) (?:месяц|год)\w*|"
    r"украин\w* (?:запустил|выпустил|атаковал)\w*|всу (?:запустил|выпустил|атаковал)\w*|"
    r"украинск\w* (?:\w+ )?(?:беспилотник|дрон|бпла)\w*|над россией|над территорией россии",
    "uk": r"отрима\w*|постав\w*|збуду\w*|будува\w*|вироб\w*|закуп\w*|купи\w*|замови\w*|планує\w*|"
    r"за (?:\w+ )?(?:місяц|тижд|тижн|рік|року)\w*|з початку|цього (?:місяця|року|тижня)|"
    r"минулого (?:місяця|року|тижня)|україн\w* (?:запустил|випустил|атакувал)\w*|"
    r"українськ\w* (?:\w+ )?(?:дрон|безпілотник|бпла)\w*|над росією|над територією росії",
}
# Interceptions: the figures after these are those shot down.
DOWNED = {
    "en": r"shot down|downed|intercept\w*|destroyed|neutrali[sz]ed|suppressed",
    "fr": r"abattu\w*|intercept\w*|détruit\w*|neutralis\w*",
    "ru": r"сбит\w*|сбил\w*|перехвач\w*|уничтож\w*|подавлен\w*|нейтрализ\w*",
    "uk": r"збит\w*|збил\w*|знешкод\w*|перехопл\w*|знищ\w*|подавлен\w*",
}
# 810, 1,204, 1 204 (a space, no-break space or narrow no-break space between thousands).
NUMBER = r"(\d{1,3}(?:[,\u00a0\u202f ]\d{3})+|\d+)"
SENTENCES = re.compile(r"(?<=[.!?])\s+|;\s*|\n+")


def _word(pattern):
    return rf"(?<![\w'-])(?:{pattern})(?![\w'])"


def _compile(table):
    return {lang: re.compile(_word(p), re.IGNORECASE) for lang, p in table.items()}


_ATTACK, _NOT, _DOWNED = _compile(ATTACK), _compile(NOT_LAUNCHED), _compile(DOWNED)
_FIGURE = {}
for _lang, _nouns in NOUNS.items():
    _any = "|".join(_nouns.values())
    # Up to three words between the number and its noun ("13 cruise and ballistic missiles", "810 ударних
    # БпЛА"), none of them a number or the other noun ("810 drones and missiles" gives no missile figure).
    _between = rf"(?:(?!(?:{_any})(?![\w']))[^\W\d_][\w'-]*\s+){{0,3}}"
    _FIGURE[_lang] = {
        slug: re.compile(rf"(?<![\d,.])\b{NUMBER}\s+{_between}(?:{noun})(?![\w'])", re.IGNORECASE)
        for slug, noun in _nouns.items()
    }


def night_figures(title: str, summary: str = "", lang: str | None = "en") -> dict[str, int]:
    """{series slug: number} reported for a night's attack; {} when the text reports none."""
    lang = lang if lang in NOUNS else "en"
    text = f"{title or ''}.\n{summary or ''}"
    found = {}
    for sentence in SENTENCES.split(text):
        if not _ATTACK[lang].search(sentence) or _NOT[lang].search(sentence):
            continue
        downed = _DOWNED[lang].search(sentence)
        launched = sentence[: downed.start()] if downed else sentence
        for slug, pattern in _FIGURE[lang].items():
            m = pattern.search(launched)
            if m and slug not in found:
                found[slug] = int(re.sub(r"\D", "", m.group(1)))
    return found


def night_of(published_at: datetime.datetime) -> datetime.date:
    """The day a statement's figures are entered on: the statement's own date, in Kyiv."""
    return published_at.astimezone(KYIV).date()
