"""How a report frames what it reports, in the four languages: the cues the learned model reads beside
the words of the event.

The same words carry opposite signals under another frame: "sanctions will follow if Moscow stalls" is a
threat (consequences-threat), not an enacted measure (sanctions-pressure); "Washington is not
considering Tomahawks" and "Kyiv denies the exchange took place" go the other way from the event they
name; "could meet in Budapest" is a prospect, not a date set. Four frames, each a short list of cues per
language, written from grammar (conditional conjunctions, negation particles, verbs of refusal and
denial, modal and planning verbs), not from the labelled items:

- conditional: a condition or a threat ("if", "unless", "otherwise", "threatens"; "si", "faute de",
  "sous peine"; "если", "в случае", "иначе", "пригрозил"; "якщо", "у разі", "інакше", "пригрозив");
- negated: negation or refusal by a party ("not", "rejects", "rules out"; "ne ... pas", "rejette",
  "exclut"; "не", "отверг", "отказался"; "не", "відкинув", "відмовився");
- denial: a party denies a claim ("denies", "fake"; "dément"; "опроверг"; "спростував");
- prospective: something proposed, planned or possible, not done ("could", "plans to", "proposes";
  "pourrait", "envisage"; "может", "планирует"; "може", "планує").

`frames(title, summary, lang)` gives one number per frame: 1.0 for a cue in the title, 0.5 in the summary
only, 0 otherwise. The learned model takes them as features (its weights decide what a frame does to each
indicator and to the direction: nothing here is a hand-set rule), and each signal names the frames found.
"""

from __future__ import annotations

import re

import numpy as np

from .text import plain

FRAMES = ("conditional", "negated", "denial", "prospective")

_CUES = {
    "en": {
        "conditional": r"\b(?:if|unless|otherwise|or else|in case|should (?:moscow|russia|the kremlin|putin)"
        r"|would face|threat(?:en|ens|ened|ening)?|ultimatum|deadline)\b",
        "negated": r"\b(?:not|no|never|without|won't|wouldn't|isn't|aren't|wasn't|didn't|doesn't|don't|"
        r"can't|cannot|rejects?|rejected|refuses?|refused|rules? out|ruled out|dismiss(?:es|ed)?|"
        r"halts?|halted|suspends?|suspended|stalls?|stalled|collapses?|collapsed|pulls? out|pulled out)\b",
        "denial": r"\b(?:den(?:y|ies|ied)|false|fake|disinformation|fabricated)\b",
        "prospective": r"\b(?:could|may|might|would|plans? to|planned|proposes?|proposed|considers?|"
        r"considering|discuss(?:es|ed)?|ready to|prepared to|expected to|set to|mulls?|weighs?)\b",
    },
    "fr": {
        "conditional": r"(?:\bsi\b|\bs'ils?\b|\bfaute d|\bà défaut\b|\bsinon\b|\bsous peine\b|\bmenac\w*"
        r"|\bultimatum\b|\bdate butoir\b)",
        "negated": r"(?:\bne\b|\bn'|\bpas\b|\bjamais\b|\baucun\w*|\bsans\b|\brejet\w*|\brejett\w*|\brefus\w*"
        r"|\bexclu\w*|\bsuspend\w*|\bécart\w*|\brompu\w*|\béchou\w*)",
        "denial": r"(?:\bdément\w*|\bdémenti\w*|\bnie\b|\bnient\b|\bfaux\b|\bfausse\w*|\bdésinformation\b)",
        "prospective": r"(?:\bpourr\w+|\benvisag\w*|\bprévoi\w*|\bproposé\w*|\bpropose\w*|\bdiscut\w*"
        r"|\bprêts? à\b|\bprête?s? à\b|\bdevr\w+|\bcompte\w*|\bsonge\w*)",
    },
    "ru": {
        "conditional": r"(?:\bесли\b|\bв случае\b|\bиначе\b|\bпригроз\w*|\bугрож\w*|\bугроз\w*"
        r"|\bультиматум\w*"
        r"|\bкрайний срок\b|\bдедлайн\w*)",
        "negated": r"(?:\bне\b|\bни\b|\bнет\b|\bбез\b|\bотверг\w*|\bотказ\w*|\bисключ\w*|\bприостанов\w*"
        r"|\bсорва\w*|\bсорв\w*|\bпровал\w*)",
        "denial": r"(?:\bопроверг\w*|\bопроверж\w*|\bфейк\w*|\bложн\w*|\bдезинформ\w*)",
        "prospective": r"(?:\bможет\b|\bмогут\b|\bмог\w*|\bпланиру\w*|\bнамерен\w*|\bпредлож\w*|\bпредлага\w*"
        r"|\bобсужда\w*|\bобсуд\w*|\bготов\w*|\bрассматрива\w*|\bвозможн\w*)",
    },
    "uk": {
        "conditional": r"(?:\bякщо\b|\bу разі\b|\bв разі\b|\bінакше\b|\bпригроз\w*|\bпогрож\w*|\bзагроз\w*"
        r"|\bультиматум\w*|\bкрайній термін\b|\bдедлайн\w*)",
        "negated": r"(?:\bне\b|\bні\b|\bнема\w*|\bбез\b|\bвідкин\w*|\bвідмов\w*|\bвиключ\w*|\bпризупин\w*"
        r"|\bзірва\w*|\bзірв\w*|\bпровал\w*)",
        "denial": r"(?:\bспросту\w*|\bспростов\w*|\bзаперечу\w*|\bфейк\w*|\bнеправд\w*|\bдезінформ\w*)",
        "prospective": r"(?:\bможе\b|\bможуть\b|\bміг\w*|\bмогл\w*|\bплану\w*|\bмає намір\b|\bмають намір\b"
        r"|\bпропону\w*|\bзапропон\w*|\bобговорю\w*|\bобговор\w*|\bготов\w*|\bрозгляда\w*|\bможлив\w*)",
    },
}
_COMPILED = {
    lang: {frame: re.compile(pattern, re.IGNORECASE) for frame, pattern in cues.items()}
    for lang, cues in _CUES.items()
}


def found(title: str, summary: str, lang: str | None) -> dict[str, float]:
    """{frame: 1.0 if cued in the title, 0.5 in the summary only} for the frames present."""
    patterns = _COMPILED.get(lang or "", {})
    out: dict[str, float] = {}
    title, summary = plain(title), plain(summary)
    for frame in FRAMES:
        pattern = patterns.get(frame)
        if pattern is None:
            continue
        if pattern.search(title):
            out[frame] = 1.0
        elif summary and pattern.search(summary):
            out[frame] = 0.5
    return out


def vector(present: dict[str, float]) -> np.ndarray:
    return np.array([present.get(frame, 0.0) for frame in FRAMES], dtype=np.float32)
