"""Text layer of the matcher: normalisation, tokenisation, stemming (languages: tracker.feeds.languages).

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

from tracker.feeds.languages import APOSTROPHES as _APOSTROPHES
from tracker.feeds.languages import LANGUAGES

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


def plain(text: str) -> str:
    """One kind of apostrophe (Ukrainian п'ятниця is written with ’, ʼ or '), single spaces; case and
    accents kept: what the cue readers (frames, claimants, deadlines) match their patterns on."""
    return " ".join((text or "").translate(_APOSTROPHES).split())


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
