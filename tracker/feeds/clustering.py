"""Does this headline report the same event as that one? Pure functions, no database.

Two reports join one story when they were published within `WINDOW` of each other and:

- same language: the Jaccard similarity of their stemmed content words is at least `JACCARD_MIN`
  (snowball stemmers for English, French and Russian; a crude prefix for Ukrainian), raised to
  `JACCARD_CONFLICTING_FIGURES` when both carry figures and none is shared, or
- any languages: they share hard evidence: a number (>= 10, not a year) plus enough named entities,
  or at least three specific named entities. Names are compared across scripts through a small
  gazetteer of the theatre's names (Zelensky / Зеленский / Зеленський, Kyiv / Киев / Київ, ...) and,
  for other names, a transliterated 5-letter prefix (Pokrovsk / Покровск / Покровськ).

Limits, honestly: this is lexical, not semantic. Two reports of one event worded differently and with
no shared number or uncommon name stay apart (they are counted as two stories), and two different
events with the same numbers and names inside the window can merge (e.g. two separate 1,000-for-1,000
exchanges two days apart). Cross-language matching works only where titles carry names or figures;
paraphrase and translation are out of reach without a translation model.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import snowballstemmer

from .languages import FUNCTION_WORDS

WINDOW = timedelta(hours=48)
JACCARD_MIN = 0.5
JACCARD_CONFLICTING_FIGURES = 0.8
MIN_TOKENS_FOR_JACCARD = 3

# Besides the function words: reporting verbs, pronouns, negations and other words that say nothing of
# which event a title reports.
_TITLE_NOISE = {
    "en": "a an the and or but of to in on at for from by with as is are was were be been has have had it "
    "its this that these those after before over under into about against amid says say said will would "
    "could not no new more than up out off his her their they he she we you i our us vs via per who what "
    "why how when where which while also just all any some during between",
    "fr": "le la les un une des du de d l et ou mais à a au aux en dans sur pour par avec sans sous est sont "
    "été être a ont avait qui que quoi dont où ce cette ces son sa ses leur leurs il elle ils elles on nous "
    "vous je se s n ne pas plus après avant contre selon entre lors face vers dit déclare",
    "ru": "и в во на не что с со как а но к ко по из за от до о об при для у же ли бы то это этот эта эти "
    "его ее её их он она они мы вы я который которая которые также после перед над под между без чем "
    "будет был была были заявил заявила сообщил сообщила сказал сказала против через около",
    "uk": "і й та в у на не що з із зі як а але до по від за о об при для же чи б би то це цей ця ці його "
    "її їх він вона вони ми ви я який яка які також після перед над під між без ніж буде був була були "
    "заявив заявила повідомив повідомила сказав сказала проти через близько",
}
STOPWORDS = {lang: FUNCTION_WORDS[lang] | frozenset(words.split()) for lang, words in _TITLE_NOISE.items()}
ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())

# Canonical key -> prefixes (lowercase, accents stripped) that mark the name in any of the 4 languages.
GAZETTEER = {
    "ukraine": "ukrain украин україн",
    "russia": "russia russie russe росси росії россі рф",
    "kyiv": "kyiv kiev kiew киев київ києв",
    "moscow": "moscow moscou москв",
    "usa": "usa etats-unis états-unis сша американ american américain washington вашингтон",
    "eu": "eu ue ес єс europe европ європ",
    "zelensky": "zelensk zelenskyy zelenskiy зеленск зеленськ",
    "putin": "putin poutine путин путін",
    "trump": "trump трамп",
    "peskov": "peskov песков пєсков",
    "lavrov": "lavrov лавров",
    "witkoff": "witkoff уиткофф віткофф уиткоф виткофф",
    "rubio": "rubio рубио рубіо",
    "umerov": "umerov умеров",
    "yermak": "yermak iermak ермак єрмак",
    "sybiha": "sybiha sybiga сибига сибіга",
    "dmitriev": "dmitriev dmitriyev дмитриев дмитрієв",
    "ushakov": "ushakov ouchakov ушаков",
    "medinsky": "medinsk мединск мединськ",
    "macron": "macron макрон",
    "starmer": "starmer стармер",
    "merz": "merz мерц",
    "erdogan": "erdogan эрдоган ердоган",
    "nato": "nato otan нато",
    "un": "onu оон оон",
    "iaea": "iaea aiea магатэ магате",
    "anchorage": "anchorage анкоридж анкорідж",
    "alaska": "alaska аляск аляск",
    "istanbul": "istanbul стамбул",
    "geneva": "geneva geneve genève женев",
    "riyadh": "riyadh riyad эр-рияд ер-ріяд рияд",
    "abu-dhabi": "abu dhabi абу-даби абу-дабі",
    "uae": "uae eau оаэ оае emirat эмират емірат",
    "kharkiv": "kharkiv kharkov kharkov харьков харків",
    "odesa": "odesa odessa одесс одес",
    "zaporizhzhia": "zaporizh zaporij zaporozh запорож запоріж",
    "dnipro": "dnipro dnipr dniepr днепр дніпр",
    "donetsk": "donetsk donetz донецк донецьк",
    "donbas": "donbas donbass донбасс донбас",
    "luhansk": "luhansk lugansk louhansk луганск луганськ",
    "kherson": "kherson херсон",
    "crimea": "crimea crimee crimée крым крим",
    "kursk": "kursk koursk курск",
    "belgorod": "belgorod bilhorod белгород бєлгород",
    "pokrovsk": "pokrovsk покровск покровськ",
    "kupiansk": "kupiansk kupyansk купянск куп'янськ купянськ",
    "sumy": "sumy soumy сумы суми",
    "chernihiv": "chernihiv chernigov чернигов чернігів",
    "lviv": "lviv lvov львов львів",
    "vance": "vance вэнс венс",
    "kellogg": "kellogg келлог",
    "europe": "european européen европейск європейськ",
}
# Words for the watched kinds of event, mapped across the 4 languages (prefixes, accents stripped).
CONCEPTS = {
    "prisoner": "prisoner pow prisonnier captif пленн военнопленн полонен військовополонен",
    "exchange": "exchang swap echang обмен обмін",
    "ceasefire": "ceasefire truce cessez-le-feu treve перемири прекращени припиненн",
    "sanction": "sanction санкци санкці",
    "drone": "drone беспилотн безпілотн дрон",
    "missile": "missile ракет",
    "strike": "strike attack frappe attaque удар атак обстрел обстріл",
    "summit": "summit sommet саммит саміт встреч зустріч",
    "killed": "kill dead mort tue погиб убит загиб вбит",
    "evacuation": "evacua эвакуа евакуа",
    "guarantee": "guarante garanti гаранти гарантії",
    "peace": "peace paix мир мирн",
    "tariff": "tariff droits-de-douane пошлин тариф мит",
}
GENERIC = frozenset({"ukraine", "russia", "kyiv", "moscow", "usa", "eu", "europe"})

_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "e", "ж": "zh",
        "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch",
        "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
        "'": "", "’": "", "ʼ": "",
    }
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ-][^\W\d_]+)*|\d[\d\s.,]*\d|\d", re.UNICODE)
_DIGITS = re.compile(r"\D")
_STEMMERS = {"en": "english", "fr": "french", "ru": "russian"}


@dataclass(frozen=True)
class TitleSignature:
    language: str
    tokens: frozenset[str]  # stemmed content words, numbers included
    entities: frozenset[str]  # cross-language keys for names
    numbers: frozenset[str]  # numbers >= 10, years excluded
    concepts: frozenset[str] = frozenset()  # cross-language keys for kinds of event


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _skeleton(word: str) -> str:
    """A script-neutral spelling: transliterated, y/j folded to i, apostrophes and hyphens dropped."""
    w = _strip_accents(word.lower()).translate(_TRANSLIT)
    return w.replace("y", "i").replace("j", "i").replace("-", "").replace("'", "")


@lru_cache(maxsize=1)
def _gazetteer_index() -> list[tuple[str, str]]:
    pairs = []
    for key, aliases in GAZETTEER.items():
        for alias in aliases.split():
            pairs.append((_strip_accents(alias.lower()), key))
    pairs.sort(key=lambda p: -len(p[0]))
    return pairs


@lru_cache(maxsize=1)
def _concept_index() -> list[tuple[str, str]]:
    pairs = [
        (_strip_accents(alias.lower()), key) for key, aliases in CONCEPTS.items() for alias in aliases.split()
    ]
    pairs.sort(key=lambda p: -len(p[0]))
    return pairs


@lru_cache(maxsize=50_000)
def _concept_key(low: str) -> str | None:
    low = _strip_accents(low)
    for alias, key in _concept_index():
        if low.startswith(alias):
            return key
    return None


@lru_cache(maxsize=50_000)
def _entity_key(word: str) -> str | None:
    low = _strip_accents(word.lower())
    for alias, key in _gazetteer_index():
        if low.startswith(alias) and (len(alias) >= 4 or low == alias):
            return key
    if len(low) < 4 or low in ALL_STOPWORDS:
        return None
    return _skeleton(word)[:5]


@lru_cache(maxsize=8)
def _stemmer(language: str):
    name = _STEMMERS.get(language)
    return snowballstemmer.stemmer(name) if name else None


@lru_cache(maxsize=200_000)
def _stem(language: str, word: str) -> str:
    stemmer = _stemmer(language)
    return stemmer.stemWord(word) if stemmer is not None else _skeleton(word)[:6]


def _number(token: str) -> str | None:
    digits = _DIGITS.sub("", token)
    if not digits or len(digits) > 9:
        return None
    value = int(digits)
    if value < 10 or (len(digits) == 4 and 1900 <= value <= 2100):
        return None
    return str(value)


@lru_cache(maxsize=100_000)
def signature(title: str, language: str = "") -> TitleSignature:
    """The comparable features of a headline (cached: stories are compared with many new entries)."""
    language = (language or "").lower()[:2]
    stop = STOPWORDS.get(language, ALL_STOPWORDS)
    tokens: set[str] = set()
    entities: set[str] = set()
    numbers: set[str] = set()
    concepts: set[str] = set()
    words = _WORD.findall(unicodedata.normalize("NFKC", title))
    for i, word in enumerate(words):
        # French elision and Ukrainian apostrophe: l'Ukraine -> Ukraine, d'échange -> échange.
        head, sep, tail = word.replace("’", "'").replace("ʼ", "'").partition("'")
        if sep and len(head) <= 2 and tail:
            word = tail
        if word[0].isdigit():
            n = _number(word)
            if n:
                numbers.add(n)
                tokens.add(n)
            continue
        low = word.lower()
        if low in stop or len(low) < 2:
            continue
        concept = _concept_key(low)
        if concept:
            concepts.add(concept)
        tokens.add(_stem(language, low))
        # Names: capitalised words (any position) and all-caps acronyms; gazetteer names in any case.
        key = _entity_key(word) if (word[0].isupper() or i == 0) else None
        if key is None:
            gaz = _entity_key(word)
            if gaz in GAZETTEER:
                key = gaz
        if key:
            entities.add(key)
    return TitleSignature(
        language, frozenset(tokens), frozenset(entities), frozenset(numbers), frozenset(concepts)
    )


@dataclass(frozen=True)
class StorySimilarity:
    same: bool
    score: float
    reason: str


def compare(a: TitleSignature, b: TitleSignature) -> StorySimilarity:
    """Same story or not, with a score in [0, 1] and the reason (for the admin and for tests)."""
    shared_numbers = a.numbers & b.numbers
    shared_entities = a.entities & b.entities
    specific = shared_entities - GENERIC
    generic = shared_entities & GENERIC
    if a.language == b.language and a.tokens and b.tokens:
        union = a.tokens | b.tokens
        jaccard = len(a.tokens & b.tokens) / len(union)
        # Same wording but different figures ("swap 84 prisoners" / "swap 146 prisoners") is more
        # likely two events than one: it then needs a much closer wording.
        needed = (
            JACCARD_CONFLICTING_FIGURES if (a.numbers and b.numbers and not shared_numbers) else JACCARD_MIN
        )
        if min(len(a.tokens), len(b.tokens)) >= MIN_TOKENS_FOR_JACCARD and jaccard >= needed:
            return StorySimilarity(True, jaccard, f"same wording (Jaccard {jaccard:.2f})")
    shared_concepts = a.concepts & b.concepts
    points = (
        sum(3.0 if len(n) >= 3 else 2.0 for n in shared_numbers)
        + 1.5 * len(specific)
        + 0.5 * len(generic)
        + 0.5 * len(shared_concepts)
    )
    score = min(1.0, points / 6)
    if shared_numbers and shared_entities and points >= 3:
        return StorySimilarity(
            True,
            score,
            f"shared figures {sorted(shared_numbers)}, names {sorted(shared_entities)}"
            + (f", topics {sorted(shared_concepts)}" if shared_concepts else ""),
        )
    if len(specific) >= 3:
        return StorySimilarity(True, score, f"shared names {sorted(specific)}")
    return StorySimilarity(False, score, "not enough in common")


def same_story(
    a: TitleSignature, a_time: datetime, b: TitleSignature, b_time: datetime, window: timedelta = WINDOW
) -> bool:
    return abs(a_time - b_time) <= window and compare(a, b).same
