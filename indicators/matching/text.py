"""Text layer of the matcher: normalisation, tokenisation, language detection, stemming.

Everything here is pure Python and deterministic. Rule phrases and entry text go through the same
functions, so an inflected form in a headline meets the stem written in a rule.

Stemming per language:
- en, fr, ru: Snowball (snowballstemmer).
- uk: Snowball has no Ukrainian. We lemmatise with pymorphy3 + pymorphy3-dicts-uk (maintained, the
  Ukrainian dictionary of the LanguageTool/VESUM project) and then strip a short list of Ukrainian
  endings from the lemma, so lemmatiser disagreements (енергетика / енергетик) and words missing from
  the dictionary still meet. Measured: about 100 microseconds a word uncached, nothing once cached (the
  cache below); simplemma was faster (2 microseconds) but its greedy guesses broke common forms
  (масований -> масованити, масовану -> масовану).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import snowballstemmer

LANGUAGES = ("en", "fr", "ru", "uk")

_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u02bc\u2018\u0060\u00b4\u02b9\u2032\uff07"), "'")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")

# A word: letters/digits, optionally joined by an apostrophe (Ukrainian: перемир'я, п'ять; French: l'accord
# is split below because the elided article is not part of the word).
_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_FR_ELISION_RE = re.compile(r"^(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)'(?=\w)")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[a-zà-ÿœæ]")


def normalise(text: str) -> str:
    """NFKC, casefold, ё→е, one apostrophe, one dash. Keeps accents (French stemming needs them)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_APOSTROPHES).translate(_DASHES)
    return text.replace("ё", "е")


def tokenise(normalised: str) -> list[str]:
    """Split normalised text into word tokens. French elisions (l', d', qu'...) are dropped."""
    tokens = []
    for tok in _TOKEN_RE.findall(normalised):
        if "'" in tok and _LATIN_RE.match(tok):
            tok = _FR_ELISION_RE.sub("", tok)
            # English possessive: putin's -> putin
            if tok.endswith("'s"):
                tok = tok[:-2]
            tok = tok.strip("'")
            if not tok:
                continue
        tokens.append(tok)
    return tokens


# Small words dropped from rule phrases of two or more content words (never from the text: the gap
# allowance of the matcher skips them there). Negations are deliberately absent.
STOPWORDS = {
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
    words = set(_TOKEN_RE.findall(raw.translate(_APOSTROPHES)))
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


def _langid_pick(text: str, allowed: tuple[str, ...]) -> str:
    ranked = _langid().rank(text)
    for lang, _score in ranked:
        if lang in allowed:
            return lang
    return allowed[0]


# ---------------------------------------------------------------- stemming

_SNOWBALL = {"en": "english", "fr": "french", "ru": "russian"}

# Ukrainian endings stripped from a lemma (longest first); a stem keeps at least 3 letters.
_UK_ENDINGS = sorted(
    set(
        """ування ювання ання яння ення іння ість ості ними ими ього ому ого ові еві ами ями ах ях
        ий ій ої ою ей ти ться тися ся а я і ї у ю е є о и ь""".split()
    ),
    key=len,
    reverse=True,
)


def _strip_accents_latin(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _snowball(lang: str):
    return snowballstemmer.stemmer(_SNOWBALL[lang])


@lru_cache(maxsize=1)
def _uk_morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="uk")


def _uk_stem(word: str) -> str:
    parses = _uk_morph().parse(word)
    lemma = parses[0].normal_form if parses else word
    lemma = lemma.casefold().replace("ё", "е").translate(_APOSTROPHES)
    for ending in _UK_ENDINGS:
        if lemma.endswith(ending) and len(lemma) - len(ending) >= 3:
            return lemma[: -len(ending)]
    return lemma


_STEM_CACHE: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
_STEM_CACHE_LIMIT = 200_000


def stem(token: str, lang: str) -> str:
    """Stem one normalised token for a language. Cached; the script of the token picks the stemmer
    when it differs from the language (a Latin name in a Russian headline is stemmed as English)."""
    cache = _STEM_CACHE[lang]
    cached = cache.get(token)
    if cached is not None:
        return cached
    if token.isdigit():
        result = token
    elif _CYRILLIC_RE.search(token):
        result = _uk_stem(token) if lang == "uk" else _snowball("ru").stemWord(token)
    else:
        stem_lang = lang if lang in ("en", "fr") else "en"
        result = _strip_accents_latin(_snowball(stem_lang).stemWord(token))
    if len(cache) < _STEM_CACHE_LIMIT:
        cache[token] = result
    return result


def stems(tokens: list[str], lang: str) -> list[str]:
    cache = _STEM_CACHE[lang]
    return [cache.get(t) or stem(t, lang) for t in tokens]
