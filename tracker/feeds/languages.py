"""The languages Watchpost reads, and which one a text is in. Each fact once: every module asks here.

- `LANGUAGES`: en, fr, ru, uk (a feed, an entry, a rule, a subscription all use these codes).
- `detect_language(text)`: letters first (і ї є ґ are Ukrainian only, ы э ъ ё Russian only), then function
  words, then py3langid restricted to the same script. `classify(text)` is py3langid alone, with its
  probability (the parser trusts a feed's declared language unless the detector is sure).
- `FUNCTION_WORDS`: small words per language (negations deliberately absent), dropped from rule phrases
  and, with a few more, from titles compared for clustering.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

LANGUAGES = ("en", "fr", "ru", "uk")
LANGUAGE_NAMES = {"en": "English", "fr": "French", "ru": "Russian", "uk": "Ukrainian"}

APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u02bc\u2018\u0060\u00b4\u02b9\u2032\uff07"), "'")
_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[a-zà-ÿœæ]")


# Small words dropped from rule phrases of two or more content words (never from the text: the gap
# allowance of the matcher skips them there). Negations are deliberately absent.
FUNCTION_WORDS = {
    "en": frozenset(
        "the a an of to in on at for with by from into as and or its their his her this that these those "
        "is are was were be been".split()
    ),
    "fr": frozenset(
        "le la les l un une des de du d au aux à en et ou par pour sur dans avec son sa ses leur leurs ce "
        "cette ces qui que est sont".split()
    ),
    "ru": frozenset("и в во на по с со к ко из от до за о об у для при а или же то это его ее их".split()),
    "uk": frozenset("і й та в у на по з із зі до від за о об для при а або же це його її їх".split()),
}


# ---------------------------------------------------------------- language detection

_UK_LETTERS_RE = re.compile("[іїєґ]")
_RU_LETTERS_RE = re.compile("[ыэъё]")
_FR_LETTERS_RE = re.compile("[éèêàâçùûôîïëœ]")
_FR_WORDS = frozenset(
    "le la les des du de et un une au aux est sont dans pour sur avec par pas qui que ne plus entre après "
    "selon contre vers russie russe russes ukrainien ukrainienne guerre paix accord frappes sommet cessez "
    "échange échanges prisonniers otan états unis poutine trump annonce appelle ou mais aussi son ses leur "
    "leurs cette ce ces été sera fait dit veut face lors sans sous chez moscou kiev russes ukrainiens "
    "frappe drones missiles armes aide troupes menace sommet pourparlers négociations rejette rejeté "
    "nouvelle nouvelles nouveau nouveaux massive record trêve".split()
)
_EN_WORDS = frozenset(
    "the of and to in on for with is are was were from by as at after over says said amid its new "
    "will has have not russia russian russia's ukraine's ukrainian war peace deal talks swap strikes "
    "attack attacks summit ceasefire truce prisoners kyiv nato us uk eu calls warns plan or gives give "
    "face severe against into under would could than about back up out off more first before this that "
    "day days week weeks sets set talks meet meets meeting agree agrees agreed rejects rejected offers "
    "says tells hits killed kills amid over overnight drone drones missile missiles weapons aid troops "
    "sends send deal deadline threat threatens swaps swapped exchange exchanged hit record largest "
    "biggest new latest urges pushes push backs back ready".split()
)
_SHARED_WORDS = _FR_WORDS & _EN_WORDS
_FR_WORDS, _EN_WORDS = _FR_WORDS - _SHARED_WORDS, _EN_WORDS - _SHARED_WORDS
_RU_WORDS = frozenset("и с что его как от это из при со".split())
_UK_WORDS = frozenset("та з що його як від й це із при зі".split())


@lru_cache(maxsize=1)
def _langid():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect_language(text: str) -> str:
    """Guess en/fr/ru/uk for a short headline.

    Letters decide first (і ї є ґ only exist in Ukrainian, ы э ъ ё only in Russian; the Cyrillic vs Latin
    share decides the script), then function words, then py3langid restricted to the same script.
    """
    raw = unicodedata.normalize("NFKC", text or "").casefold()
    uk_letters = len(_UK_LETTERS_RE.findall(raw))
    ru_letters = len(_RU_LETTERS_RE.findall(raw))
    if uk_letters >= 2 and not ru_letters:
        return "uk"
    if ru_letters >= 2 and not uk_letters:
        return "ru"
    cyr = len(_CYRILLIC_RE.findall(raw))
    lat = len(_LATIN_RE.findall(raw))
    if cyr == 0 and lat == 0:
        return "en"
    words = set(_TOKEN_RE.findall(raw.translate(APOSTROPHES)))
    if cyr >= lat:
        uk = uk_letters + 2 * len(words & _UK_WORDS)
        ru = ru_letters + 2 * len(words & _RU_WORDS)
        if uk > ru:
            return "uk"
        if ru > uk or uk == 0:
            # Ukrainian prose without і, ї, є or ґ is vanishingly rare: Cyrillic without them is Russian.
            return "ru"
        return _langid_pick(raw, ("ru", "uk"))
    fr = len(words & _FR_WORDS) + 2 * len(_FR_LETTERS_RE.findall(raw))
    en = len(words & _EN_WORDS)
    if fr > en:
        return "fr"
    if en > fr:
        return "en"
    return _langid_pick(raw, ("en", "fr"))


def classify(text: str) -> tuple[str, float]:
    """py3langid alone, restricted to the four languages: the best one and its probability."""
    lang, prob = _langid().classify(text)
    return lang, float(prob)


def normalise_language(value: str) -> str:
    """A feed's declared language (en-GB, fr_FR, UA...) reduced to its primary subtag, or ""."""
    value = (value or "").strip().lower().replace("_", "-")
    primary = value.split("-", 1)[0]
    if primary == "ua":  # a frequent mistake for Ukrainian
        primary = "uk"
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else ""


def _langid_pick(text: str, allowed: tuple[str, ...]) -> str:
    ranked = _langid().rank(text)
    for lang, _score in ranked:
        if lang in allowed:
            return lang
    return allowed[0]
