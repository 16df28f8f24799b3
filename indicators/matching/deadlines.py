"""Read a deadline from a headline or summary, in English, French, Russian and Ukrainian: explicit dates
("by 8 August", "d'ici le 8 août", "до 8 августа", "до 8 серпня", 2025-08-08) and relative forms ("within
10 days", "sous dix jours", "в течение 10 дней", "протягом 10 днів", "in two weeks", "by Friday", "к
пятнице", "до п'ятниці"), counted from the day the entry was published. Pure functions: no database.

`find_deadline` needs a deadline cue ("by", "d'ici", "до"...) before a day and month (not before an ISO
date); `find_date` (a meeting's day) takes any explicit date. Both return the form that comes first in
the text, or None.

Also `find_actor`: who threatened, from a short list of cues ("Trump", "EU"...), and `find_place`: where a
meeting is proposed, from a short list of cities.
"""

import calendar
import datetime
import re

from .text import plain

MONTHS = {
    "en": {
        "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
        "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
        "oct": 10, "nov": 11, "dec": 12,
    },
    "fr": {
        "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
        "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
        "décembre": 12, "decembre": 12,
    },
    "ru": {
        "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7,
        "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
    },
    "uk": {
        "січня": 1, "лютого": 2, "березня": 3, "квітня": 4, "травня": 5, "червня": 6, "липня": 7,
        "серпня": 8, "вересня": 9, "жовтня": 10, "листопада": 11, "грудня": 12,
    },
}  # fmt: skip

# Weekday stems (0 = Monday), matched at the start of a word: "пятниц" covers пятница, пятницы, пятнице.
WEEKDAYS = {
    "en": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "ru": ["понедельник", "вторник", "сред", "четверг", "пятниц", "суббот", "воскресень"],
    "uk": ["понеділ", "вівтор", "серед", "четвер", "п'ятниц", "субот", "неділ"],
}

# Cues before an explicit date that make it a deadline.
DATE_CUES = {
    "en": r"by|before|until|till|no later than|deadline(?: of| on)?|expires?(?: on)?|ultimatum(?: of)?",
    "fr": r"d'ici(?: au| le| à)?|avant(?: le)?|jusqu'au|au plus tard le|date limite du|ultimatum du",
    "ru": r"до|к|не позднее|срок(?: до)?|ультиматум(?: до)?",
    "uk": r"до|не пізніше|термін(?: до)?|ультиматум(?: до)?",
}
WEEKDAY_CUES = {
    "en": r"by(?: next)?|before(?: next)?|until(?: next)?",
    "fr": r"d'ici(?: à)?|avant|jusqu'à",
    "ru": r"к|до",
    "uk": r"до",
}
# Cues before "N days / weeks / months" counted from publication.
RELATIVE_CUES = {
    "en": r"within(?: the next)?|in(?: the next)?|over the next|in less than|no more than|gives?(?: [\w']+)?|"
    r"given|has|have",
    "fr": r"sous|d'ici(?: à)?|dans(?: les)?|dans un délai de|en moins de",
    "ru": r"в течение|через|в ближайшие|на протяжении|в срок до",
    "uk": r"протягом|впродовж|упродовж|через|у найближчі|в найближчі|за наступні",
}
UNITS = {
    "en": (r"days?", r"weeks?", r"months?"),
    "fr": (r"jours?", r"semaines?", r"mois"),
    "ru": (r"дн\w*|день|сут\w*", r"недел\w*", r"месяц\w*"),
    "uk": (r"дн\w*|день|доб\w*", r"тижн\w*|тиждень", r"місяц\w*"),
}

# Number words, by stem (the longest stem that starts the word wins): Russian and Ukrainian decline them.
NUMBER_STEMS = {
    "en": {
        "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15,
        "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    },
    "fr": {
        "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
        "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "quinze": 15, "vingt": 20,
        "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    },
    "ru": {
        "одн": 1, "дв": 2, "тр": 3, "четыр": 4, "пят": 5, "шест": 6, "сем": 7, "восем": 8, "восьм": 8,
        "девят": 9, "десят": 10, "одиннадцат": 11, "двенадцат": 12, "пятнадцат": 15, "двадцат": 20,
        "тридцат": 30, "сорок": 40, "пятьдесят": 50, "пятидесят": 50, "шестьдесят": 60,
    },
    "uk": {
        "одн": 1, "один": 1, "дв": 2, "три": 3, "трьох": 3, "чотир": 4, "п'ят": 5, "шіст": 6,
        "шест": 6, "сім": 7, "сем": 7, "вісім": 8, "восьм": 8, "дев'ят": 9, "десят": 10,
        "одинадцят": 11, "дванадцят": 12, "п'ятнадцят": 15, "двадцят": 20, "тридцят": 30,
        "сорок": 40, "п'ятдесят": 50, "шістдесят": 60,
    },
}  # fmt: skip

WORD = r"[\w']+"
RANGE = r"(?:-|–|to|or|à|ou|или|або)"  # "10 or 12 days": the first figure counts
ISO = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")
# Far enough in the past that a day-and-month without a year means next year's (e.g. "by 10 January" in
# a December report).
YEAR_ROLLOVER_DAYS = 60


def normalise(text):
    """Lower case, one kind of apostrophe, single spaces (`text.plain`)."""
    return plain(text).lower()


def _number(word, lang):
    if word.isdigit():
        return int(word)
    best = None
    for stem, value in NUMBER_STEMS.get(lang, {}).items():
        exact = lang in ("en", "fr")
        if (word == stem) if exact else word.startswith(stem):
            if best is None or len(stem) > len(best[0]):
                best = (stem, value)
    return best[1] if best else None


def _add_months(day, months):
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _day_month(day, month, year, published_on):
    """The date, its year taken from the publication when not written (next year when that is long past)."""
    try:
        found = datetime.date(int(year) if year else published_on.year, month, day)
    except ValueError:
        return None
    if not year and found < published_on - datetime.timedelta(days=YEAR_ROLLOVER_DAYS):
        try:
            found = found.replace(year=found.year + 1)
        except ValueError:
            return None
    return found


def _explicit(text, lang, published_on, cues):
    """(position, date) of each explicit date in the text, after one of `cues` (any position if None)."""
    months = MONTHS.get(lang, {})
    names = "|".join(sorted((re.escape(m) for m in months), key=len, reverse=True))
    lead = rf"(?:(?<![\w'])(?:{cues})\s+)" if cues else r"(?<![\w'])"
    found = []
    day_first = re.compile(
        rf"{lead}(\d{{1,2}})(?:st|nd|rd|th|er|-?го|-?е)?\s+(?:of\s+)?({names})\b\.?(?:,?\s+(20\d\d))?"
    )
    for m in day_first.finditer(text):
        date = _day_month(int(m.group(1)), months[m.group(2)], m.group(3), published_on)
        if date:
            found.append((m.start(), date))
    if lang == "en":
        month_first = re.compile(rf"{lead}({names})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(20\d\d))?")
        for m in month_first.finditer(text):
            date = _day_month(int(m.group(2)), months[m.group(1)], m.group(3), published_on)
            if date:
                found.append((m.start(), date))
    for m in ISO.finditer(text):  # written as YYYY-MM-DD, a date is deliberate: no cue needed
        try:
            found.append((m.start(), datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))))
        except ValueError:
            continue
    return found


def _relative(text, lang, published_on):
    """(position, date) of each "within N days / in two weeks / через месяц" form."""
    cues = RELATIVE_CUES.get(lang)
    if not cues:
        return []
    days, weeks, months = UNITS[lang]
    pattern = re.compile(
        rf"(?<![\w'])(?:{cues})\s+(?:(\d{{1,3}}|{WORD})(?:\s*{RANGE}\s*\d{{1,3}})?\s+)?"
        rf"(?:({days})|({weeks})|({months}))(?![\w'])"
    )
    found = []
    for m in pattern.finditer(text):
        word = m.group(1)
        n = 1 if word is None else _number(word, lang)
        if n is None or n <= 0 or n > 400:
            continue
        if m.group(2):
            date = published_on + datetime.timedelta(days=n)
        elif m.group(3):
            date = published_on + datetime.timedelta(weeks=n)
        else:
            date = _add_months(published_on, n)
        found.append((m.start(), date))
    return found


def _weekday(text, lang, published_on):
    """(position, date) of "by Friday / d'ici vendredi / к пятнице / до п'ятниці": the next such day after
    publication (a week later when published on that weekday)."""
    stems = WEEKDAYS.get(lang)
    if not stems:
        return []
    names = "|".join(re.escape(s) for s in stems)
    pattern = re.compile(
        rf"(?<![\w'])(?:{WEEKDAY_CUES[lang]})\s+(?:(?:this|ce|cette|эт\w+|ц\w+)\s+)?({names})[\w']*"
    )
    found = []
    for m in pattern.finditer(text):
        target = next(i for i, s in enumerate(stems) if m.group(1) == s)
        ahead = (target - published_on.weekday()) % 7 or 7
        found.append((m.start(), published_on + datetime.timedelta(days=ahead)))
    return found


def _first_day(text, lang, published_on, date_cues):
    """The first day the text names: an explicit date (after one of `date_cues`; any, when None), a
    relative form or a weekday, counted from `published_on`; None when there is none."""
    lang = (lang or "").lower()[:2]
    if lang not in MONTHS or published_on is None:
        return None
    text = normalise(text)
    found = [
        *_explicit(text, lang, published_on, date_cues and date_cues[lang]),
        *_relative(text, lang, published_on),
        *_weekday(text, lang, published_on),
    ]
    return min(found)[1] if found else None


def find_deadline(text, lang, published_on):
    """The deadline a text sets, as a date, or None: an explicit date after a deadline cue, or a relative
    form counted from `published_on` (the entry's publication day). The first one in the text wins."""
    return _first_day(text, lang, published_on, DATE_CUES)


def find_date(text, lang, published_on):
    """A day the text names (a meeting's date): an explicit date with or without a cue, or a relative
    form; None when there is none."""
    return _first_day(text, lang, published_on, None)


# --- Who threatened; where a meeting is -------------------------------------------------------------

# Cue stem (matched at the start of a word; "=word": that word only) -> the short name recorded. Trump
# first: most threats are his.
ACTORS = [
    ("Trump", ("trump", "трамп")),
    ("EU", ("=eu", "european union", "brussels", "=ue", "union européenne", "bruxelles", "=ес", "евросоюз",
            "брюссел", "=єс", "євросоюз", "брюсел")),
    ("G7", ("=g7", "=g-7", "большая семерка", "велика сімка")),
    ("NATO", ("nato", "otan", "нато")),
    ("US", ("washington", "white house", "us senate", "maison blanche", "washington", "вашингтон",
            "белый дом", "білий дім", "сша")),
    ("UK", ("britain", "=uk", "london", "royaume-uni", "londres", "британи", "лондон")),
]  # fmt: skip

PLACES = [
    ("Budapest", ("budapest", "будапешт")),
    ("Istanbul", ("istanbul", "стамбул")),
    ("Geneva", ("geneva", "genève", "geneve", "женев")),
    ("Riyadh", ("riyadh", "riyad", "эр-рияд", "рияд", "ер-ріяд", "ріяд")),
    ("Moscow", ("moscow", "moscou", "москв")),
    ("Alaska", ("alaska", "anchorage", "аляск", "анкоридж")),
    ("Vatican", ("vatican", "ватикан")),
    ("Abu Dhabi", ("abu dhabi", "абу-даби", "абу-дабі")),
]  # fmt: skip


def _first_cue(text, table):
    text = normalise(text)
    best = None
    for name, cues in table:
        for cue in cues:
            exact = cue.startswith("=")
            end = r"(?![\w'])" if exact else ""
            m = re.search(rf"(?<![\w-]){re.escape(cue.lstrip('='))}{end}", text)  # "l'UE" counts
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), name)
    return best[1] if best else ""


def find_actor(text):
    """Who threatened, from the short list of ACTORS (the one named first), or ""."""
    return _first_cue(text, ACTORS)


def find_place(text):
    """Where a meeting is, from the short list of PLACES (the one named first), or ""."""
    return _first_cue(text, PLACES)
