"""Who says it: the claimant a report attributes its claim to, from attribution cues in en/fr/ru/uk.

A claimant is named when an actor of a side (Kyiv: "the air force", "Ukraine's general staff", "ЗСУ",
"Генштаб"; Moscow: "the Kremlin", "the Russian defence ministry", "Минобороны"; Washington: "the White
House"; European capitals: "Brussels", "Paris"; another party: "Ankara", "the UN") stands next to a verb
of saying or an "according to": right after it, with at most three words between ("according to the
Russian defence ministry", "selon Moscou", "a indiqué Kyiv", "заявили в Кремле", "за даними Генштабу"),
or right before it ("the air force said", "Brussels said", "Kyiv denies", "Москва опровергла", "Київ
спростував"). The first such actor in the text wins (at the same place, the longer name: "Минобороны
Украины" is Kyiv, "Минобороны" alone Moscow). No cue: "unknown". An actor named without a verb of saying
("Russia launched 810 drones") is what the report is about, not who claims it.

`claimant(text, lang)` is a pure function; indicators.proposals calls it on an entry's title and summary.
"""

from __future__ import annotations

import re

from .text import plain

UNKNOWN = "unknown"
_W = r"[^\s.,;:!?«»\"()]+"  # one word
_GAP = rf"(?:[ \t]+{_W}){{0,3}}?"  # at most three words between actor and verb

_ACTORS = {
    "en": {
        "kyiv": r"ukraine'?s? (?:general staff|military|armed forces|army|defen[cs]e ministry|"
        r"foreign ministry|government|president|air force|navy|officials)|"
        r"ukrainian (?:officials?|military|forces|army|"
        r"general staff|defen[cs]e ministry|foreign ministry|president|air force|navy|authorities|"
        r"government)|kyiv|kiev|ukraine|zelensk(?:yy|y|iy)|(?:the )?air force|(?:the )?general staff|"
        r"sybiha|syrskyi",
        "moscow": r"russia'?s? (?:general staff|military|defen[cs]e ministry|foreign ministry|government|"
        r"president|officials)|russian (?:officials?|military|forces|army|general staff|defen[cs]e ministry|"
        r"foreign ministry|president|authorities|government)|(?:the )?kremlin|moscow|russia|peskov|putin|"
        r"lavrov|zakharova",
        "washington": r"(?:the )?white house|washington|(?:the )?state department|(?:the )?pentagon|"
        r"(?:the )?united states|(?-i:US)|u\.s\.|trump|rubio|witkoff|vance|american officials",
        "europe": r"brussels|(?:the )?european (?:union|commission|capitals|officials|leaders)|(?-i:EU)|"
        r"paris|berlin|london|(?:the )?elys[ée]e|macron|merz|starmer|nato|von der leyen|kallas|"
        r"european capitals",
        "other": r"ankara|beijing|turkey|china|erdogan|(?:the )?(?-i:UN)|(?:the )?united nations|"
        r"(?:the )?iaea|(?:the )?red cross|(?:the )?icrc|qatar|(?:the )?vatican",
    },
    "fr": {
        "kyiv": r"l'armée (?:de l'air )?ukrainienne|l'état-major ukrainien|(?:les )?autorités ukrainiennes|"
        r"(?:le )?ministère ukrainien de la défense|kyiv|kiev|kyïv|l'ukraine|zelensky|ukrainiens",
        "moscow": r"(?:le )?ministère russe de la défense|l'armée russe|l'état-major russe|"
        r"(?:les )?autorités russes|moscou|(?:le )?kremlin|la russie|poutine|peskov|lavrov|russes",
        "washington": r"(?:la )?maison blanche|washington|(?:les )?états-unis|(?:le )?pentagone|"
        r"(?:le )?département d'état|trump|rubio",
        "europe": r"bruxelles|(?:la )?commission européenne|l'union européenne|l'ue|(?-i:UE)|paris|berlin|"
        r"londres|l'élysée|macron|merz|(?:les )?européens|(?:les )?capitales européennes|l'otan",
        "other": r"ankara|pékin|(?:la )?turquie|(?:la )?chine|erdogan|l'onu|(?-i:ONU)|l'aiea|(?:le )?vatican",
    },
    "ru": {
        "kyiv": r"генштаб\w* (?:всу|украины)|минобороны украины|министерств\w* обороны украины|"
        r"воздушн\w+ сил\w* (?:всу|украины)|мид украины|киев\w*|украин\w*|(?-i:ВСУ|ЗСУ)|зеленск\w*|"
        r"сырск\w*|сибиг\w*",
        "moscow": r"минобороны (?:рф|россии)|министерств\w* обороны (?:рф|россии)|мид (?:рф|россии)|"
        r"минобороны|генштаб\w*|москв\w*|кремл\w*|росси\w*|песков\w*|путин\w*|лавров\w*|захаров\w*",
        "washington": r"вашингтон\w*|бел\w+ дом\w*|(?-i:США)|трамп\w*|пентагон\w*|госдеп\w*|рубио|уиткофф\w*",
        "europe": r"брюссел\w*|евросоюз\w*|еврокомисси\w*|(?-i:ЕС)|европейск\w+ столиц\w*|париж\w*|"
        r"берлин\w*|лондон\w*|макрон\w*|мерц\w*|(?-i:НАТО)",
        "other": r"анкар\w*|пекин\w*|турци\w*|кита\w*|эрдоган\w*|(?-i:ООН|МАГАТЭ)|ватикан\w*",
    },
    "uk": {
        "kyiv": r"генштаб\w*|(?-i:ЗСУ)|сил\w* оборони|повітрян\w+ сил\w*|міноборони|мзс україни|київ\w*|"
        r"києв\w*|україн\w*|зеленськ\w*|сирськ\w*|сибіг\w*",
        "moscow": r"міноборони (?:рф|росії)|мзс (?:рф|росії)|москв\w*|кремл\w*|росі\w*|російськ\w*|(?-i:РФ)|"
        r"путін\w*|пєсков\w*|лавров\w*|захаров\w*",
        "washington": r"вашингтон\w*|біл\w+ дом\w*|біл\w+ дім|(?-i:США)|трамп\w*|пентагон\w*|"
        r"держдеп\w*|рубіо",
        "europe": r"брюссел\w*|євросоюз\w*|єврокомісі\w*|(?-i:ЄС)|європейськ\w+ столиц\w*|париж\w*|"
        r"берлін\w*|лондон\w*|макрон\w*|мерц\w*|(?-i:НАТО)",
        "other": r"анкар\w*|пекін\w*|туреччин\w*|кита\w*|ердоган\w*|(?-i:ООН|МАГАТЕ)|ватикан\w*",
    },
}

# Verbs of saying (and denying), and "according to": the attribution itself.
_SAYING = {
    "en": r"said|says|say|told|tells|reported|reports|announced|announces|claimed|claims|stated|states|"
    r"den(?:y|ies|ied)|confirmed|confirms|insisted|insists|according to|dismissed|rejected",
    "fr": r"a indiqué|ont indiqué|indique|indiquent|a déclaré|ont déclaré|déclare|a affirmé|ont affirmé|"
    r"affirme|affirment|a annoncé|ont annoncé|annonce|selon|d'après|a démenti|ont démenti|dément|démentent|"
    r"assure|a assuré|a fait savoir|a confirmé|confirme|rapporte|revendique|a revendiqué",
    "ru": r"заяви\w*|заявля\w*|сообщи\w*|сообща\w*|по данным|по словам|по информации|опроверг\w*|"
    r"утвержда\w*|подтверди\w*|подтвержда\w*|рассказа\w*|объяви\w*|отрица\w*",
    "uk": r"заяви\w*|заявля\w*|повідоми\w*|повідомля\w*|за даними|за словами|за інформацією|спросту\w*|"
    r"спростов\w*|стверджу\w*|підтверди\w*|підтверджу\w*|оголоси\w*|заперечу\w*|інформу\w*",
}


def _compile():
    compiled = {}
    for lang, actors in _ACTORS.items():
        saying = _SAYING[lang]
        compiled[lang] = (
            [
                (who, re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE))
                for who, pattern in actors.items()
            ],
            re.compile(rf"^(?:'s)?{_GAP}[ \t]+(?:{saying})(?!\w)", re.IGNORECASE),  # actor, then the verb
            re.compile(rf"(?<!\w)(?:{saying}){_GAP}[ \t]+$", re.IGNORECASE),  # the verb, then the actor
        )
    return compiled


_COMPILED = _compile()


def claimant(text: str, lang: str | None) -> str:
    """kyiv, moscow, washington, europe, other, or unknown when no attribution cue names a side."""
    if lang not in _COMPILED:
        return UNKNOWN
    actors, after, before = _COMPILED[lang]
    text = plain(text)
    best = None  # (start, -length, claimant)
    for who, pattern in actors:
        for m in pattern.finditer(text):
            if best is not None and m.start() > best[0]:
                break
            if after.search(text[m.end() : m.end() + 80]) or before.search(
                text[max(0, m.start() - 80) : m.start()]
            ):
                candidate = (m.start(), -(m.end() - m.start()), who)
                best = candidate if best is None else min(best, candidate)
                break
    return best[2] if best else UNKNOWN
