"""Parse feed bytes into plain, sanitised entries.

`parse_feed(data, now=...)` takes the bytes (from the network or a file), and returns a `ParsedFeed` or
raises `ParseError` with a kind and a message an admin can act on. What it guards against:

- size: input above `max_bytes` is refused before anything is decoded; at most `max_entries` entries and
  bounded title/summary lengths are kept, so memory stays proportional to the cap;
- XML entity tricks: any <!ENTITY> declaration in the DTD is refused before parsing ("billion laughs",
  quadratic blow-up, external entities). Underneath, the installed expat (>= 2.4) also stops
  amplification on its own, and feedparser never fetches external DTDs;
- wrong encodings: a BOM wins; then valid UTF-8; then the XML declaration or HTTP charset if the bytes
  really decode in it; then a Cyrillic-aware guess between windows-1251 and windows-1252. The text is
  re-encoded as UTF-8 before feedparser sees it;
- hostile HTML: summaries are cleaned with nh3 (ammonia): no <script>/<style>, no on* attributes, only
  http/https/mailto URLs; titles become plain text.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
import nh3

from .languages import classify, normalise_language

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 1000
DEFAULT_MAX_ELEMENTS = 60_000
MAX_TITLE = 500
MAX_SUMMARY_INPUT = 200_000
MAX_SUMMARY_TEXT = 20_000
MAX_GUID = 500
MAX_URL = 2000
FUTURE_TOLERANCE = timedelta(days=1)
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "dd", "del", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q", "s",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "time": {"datetime"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}

# Query parameters that only track clicks; removed when building the canonical link.
TRACKING_PARAMS = {
    "fbclid", "gclid", "gclsrc", "dclid", "yclid", "msclkid", "igshid", "mc_cid", "mc_eid", "_ga", "_gl",
    "ref", "ref_src", "ref_url", "referrer", "cmpid", "cmp", "icid", "ocid", "ito", "xtor", "spm", "s_cid",
    "sr_share", "smid", "rss", "feature", "utm", "wt_mc", "wt.mc_id", "mbid", "guccounter",
}  # fmt: skip
TRACKING_PREFIXES = ("utm_", "at_", "ns_", "pk_", "mtm_", "hsa_", "oly_", "__twitter", "vero_")


class ParseError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class ParsedEntry:
    guid: str
    link: str
    canonical_link: str
    title: str
    summary_html: str
    summary_text: str
    published: datetime
    published_estimated: bool
    language: str
    outlet: str
    content_hash: str


@dataclass
class ParsedFeed:
    title: str
    link: str
    language: str
    encoding: str
    version: str
    entries: list[ParsedEntry] = field(default_factory=list)
    skipped: int = 0  # entries dropped (no title, no text, no link) or beyond max_entries
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- text helpers

_WS = re.compile(r"\s+")
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 13))


@lru_cache(maxsize=64)
def _cleaner(base_url: str) -> nh3.Cleaner:
    # Relative links are resolved against the feed's address; without one they are dropped.
    relative = ("rewrite_with_base", base_url) if base_url.startswith(("http://", "https://")) else "deny"
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        url_relative=relative,
    )


def clean_html(fragment: str, base_url: str = "") -> str:
    """Sanitise feed HTML with nh3: safe tags only, no scripts/styles, no on* handlers, http(s) URLs."""
    if not fragment:
        return ""
    return _cleaner(base_url).clean(fragment[:MAX_SUMMARY_INPUT])


_TAG = re.compile(r"<[^>]*>")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (scripts and styles dropped with their content)."""
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = nh3.clean(fragment[:MAX_SUMMARY_INPUT], tags=set(), attributes={}, strip_comments=True)
    return _WS.sub(" ", html.unescape(fragment)).strip()


def sanitised_to_text(clean: str) -> str:
    """Plain text of HTML already sanitised by clean_html (well-formed, no scripts): tags become spaces."""
    return _WS.sub(" ", html.unescape(_TAG.sub(" ", clean))).strip()


def normalise_text(text: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def canonicalize_url(url: str) -> str:
    """A stable key for an article link: https, lowercase host, no default port, no fragment, no
    tracking parameters, remaining parameters sorted. Returns "" for anything not http(s)."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return ""
    if host.startswith("www."):
        host = host[4:]
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    query.sort()
    path = parts.path or "/"
    return urlunsplit(("https", netloc, path, urlencode(query), ""))[:MAX_URL]


def outlet_from(link: str, feed_title: str) -> str:
    try:
        host = (urlsplit(link).hostname or "").lower()
    except ValueError:
        host = ""
    if host.startswith("www."):
        host = host[4:]
    for prefix in ("m.", "amp.", "mobile."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    return host or feed_title.strip()[:200]


def content_hash(title: str, text: str) -> str:
    payload = normalise_text(title) + "\n" + normalise_text(text)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- encodings

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_XML_DECL_ENC = re.compile(rb"(^\s*<\?xml[^>]*?encoding\s*=\s*)[\"'][A-Za-z0-9._:-]+[\"']")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha() and ord(c) > 127]
    if not letters:
        return 0.0
    return sum(1 for c in letters if "\u0400" <= c <= "\u04ff") / len(letters)


def decode_bytes(data: bytes, content_type: str = "") -> tuple[str, str, list[str]]:
    """Decode feed bytes to text. Returns (text, encoding used, warnings)."""
    warnings: list[str] = []
    found = _decode_by_bom(data)
    if found is not None:
        return *found, warnings
    declared = _declared_encodings(data, content_type)
    text = _decode_utf8(data, declared, warnings)
    if text is not None:
        return text, "utf-8", warnings
    found = _decode_declared(data, declared, warnings)
    if found is not None:
        return *found, warnings
    return *_guess_encoding(data, declared, warnings), warnings


def _decode_by_bom(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) when a byte-order mark, or UTF-16 "<?" without one, says the encoding; else None."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(enc), enc
            except UnicodeDecodeError as exc:
                raise ParseError(
                    "encoding", f"the body starts with a {enc} byte-order mark but is not {enc}"
                ) from exc
    if data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        enc = "utf-16-le" if data[0] == 0x3C else "utf-16-be"
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            raise ParseError("encoding", f"the body looks like {enc} but does not decode") from exc
    return None


def _declared_encodings(data: bytes, content_type: str) -> list[str]:
    """The encodings named by the XML declaration, then by the HTTP charset (as written)."""
    declared: list[str] = []
    m = _XML_DECL.match(data[:512])
    if m:
        declared.append(m.group(1).decode("ascii"))
    m = _CHARSET.search(content_type or "")
    if m:
        declared.append(m.group(1))
    return declared


def _decode_utf8(data: bytes, declared: list[str], warnings: list[str]) -> str | None:
    """The text if the bytes are valid UTF-8 (noting a contrary declaration), else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    for name in declared:
        if _codec(name) not in ("utf-8", "ascii") and _codec(name) is not None and not text.isascii():
            warnings.append(f"the feed declares {name} but is valid UTF-8; read as UTF-8")
            break
    return text


def _decode_declared(data: bytes, declared: list[str], warnings: list[str]) -> tuple[str, str] | None:
    """(text, encoding) in the first declared single-byte-family encoding the bytes decode in, else None."""
    for name in declared:
        enc = _codec(name)
        if enc is None or enc.startswith(("utf-16", "utf-32")):
            if enc is None:
                warnings.append(f"unknown declared encoding {name!r}")
            continue
        if enc == "utf-8":
            continue
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            warnings.append(f"the feed declares {name} but the bytes are not {name}")
    return None


def _guess_encoding(data: bytes, declared: list[str], warnings: list[str]) -> tuple[str, str]:
    """(text, encoding) guessed between windows-1251 (mostly Cyrillic letters) and windows-1252."""
    if declared:
        warnings.append(f"declared encoding ({', '.join(declared)}) is wrong; guessed one")
    else:
        warnings.append("no usable encoding declared and not UTF-8; guessed one")
    cp1251 = data.decode("cp1251", errors="replace")
    if _cyrillic_share(cp1251) > 0.6:
        return cp1251, "cp1251"
    return data.decode("cp1252", errors="replace"), "cp1252"


# --------------------------------------------------------------------------- XML safety

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")


def check_xml_safety(data: bytes) -> None:
    """Refuse DTDs that declare entities (billion laughs, quadratic blow-up, external entities)."""
    m = _DOCTYPE.search(data, 0, 1_000_000)
    if not m:
        return
    root = _FIRST_ELEMENT.search(data, m.end())
    end = root.start() if root else len(data)
    # An entity value may itself contain "<a"; looking from DOCTYPE to the first "]>" covers the subset.
    subset_end = data.find(b"]>", m.end())
    if subset_end != -1:
        end = max(end, subset_end)
    if _ENTITY_DECL.search(data, m.end(), end):
        raise ParseError(
            "xml_entities",
            "the feed declares XML entities in its DTD (<!ENTITY ...>); refused, since that is how "
            "'billion laughs' and external-entity attacks work. Real feeds do not need them.",
        )


_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.S)
_ITEM_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")


def _markup_count(data: bytes) -> int:
    """How many "<" are markup, i.e. outside CDATA sections (an upper bound on the element count)."""
    total = data.count(b"<")
    for m in _CDATA.finditer(data):
        total -= data.count(b"<", m.start(), m.end()) - 1
    return total


def bound_structure(data: bytes, max_entries: int, max_elements: int) -> tuple[bytes, list[str]]:
    """Keep feedparser's work bounded: it costs tens of microseconds per element, so a 10 MB feed of
    tiny items or of deeply nested tags would hold a worker for minutes.

    A feed with more than `max_entries` items is cut after the last one kept (closing tags appended);
    one that still has more than `max_elements` elements is refused."""
    warnings: list[str] = []
    ends = data.count(b"</item>") + data.count(b"</entry>")
    if ends > max_entries:
        cut = None
        for n, m in enumerate(_ITEM_END.finditer(data), start=1):
            if n == max_entries:
                cut = m.end()
                break
        if cut is not None:
            head = data[:4096]
            if b"<rss" in head:
                tail = b"</channel></rss>"
            elif b"RDF" in head:
                tail = b"</rdf:RDF>"
            else:
                tail = b"</feed>"
            data = data[:cut] + tail
            warnings.append(
                f"the feed has more than {max_entries} entries; only the first {max_entries} were read"
            )
    if _markup_count(data) > max_elements:
        raise ParseError(
            "too_complex",
            f"the feed has more than {max_elements:,} XML elements (deeply nested or endless markup); "
            "refused to protect the parser",
        )
    return data, warnings


# --------------------------------------------------------------------------- language

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _entry_language(title: str, text: str, feed_lang: str) -> str:
    """The entry's language. The feed's declared language is trusted when the script agrees (an en or fr
    feed with Latin text); otherwise (no declared language, Cyrillic in an en/fr feed, Latin in a ru/uk
    feed, or ru vs uk, which outlets mix) py3langid decides among en/fr/ru/uk."""
    sample = (title + ". " + text[:120]).strip()
    cyrillic = bool(_CYRILLIC.search(sample))
    if feed_lang in ("en", "fr") and not cyrillic:
        return feed_lang
    if len(sample) >= 25:
        lang, prob = classify(sample)
        if prob >= 0.9 or not feed_lang:
            return lang
    return feed_lang


# --------------------------------------------------------------------------- main entry point


def _to_datetime(struct) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime(*struct[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _safe_link(value: str, base: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if base:
        try:
            value = urljoin(base, value)
        except ValueError:
            return ""
    try:
        scheme = urlsplit(value).scheme.lower()
    except ValueError:
        return ""
    return value[:MAX_URL] if scheme in ("http", "https") else ""


def parse_feed(
    data: bytes,
    *,
    now: datetime,
    content_type: str = "",
    base_url: str = "",
    default_language: str = "",
    source_title: str = "",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> ParsedFeed:
    """Parse feed bytes; raise ParseError with a clear message when they are not a usable feed."""
    _check_size(data, max_bytes)
    utf8, encoding, warnings = _safe_utf8(data, content_type)
    utf8, structure_warnings = bound_structure(utf8, max_entries, max_elements)
    warnings.extend(structure_warnings)
    result = _run_feedparser(utf8, base_url)
    del utf8
    _check_recognised(result, warnings)
    parsed = _feed_header(
        result.get("feed") or {},
        encoding=encoding,
        version=result.get("version") or "",
        warnings=warnings,
        base_url=base_url,
        default_language=default_language,
        source_title=source_title,
    )
    _add_entries(parsed, result.get("entries") or [], now=now, base_url=base_url, max_entries=max_entries)
    return parsed


def _check_size(data: bytes, max_bytes: int) -> None:
    """Refuse input above the size limit (before decoding anything) and empty input."""
    if len(data) > max_bytes:
        raise ParseError(
            "too_large", f"feed is {len(data):,} bytes, larger than the limit of {max_bytes:,} bytes"
        )
    if not data.strip():
        raise ParseError("empty", "the feed is empty (no bytes)")


def _safe_utf8(data: bytes, content_type: str) -> tuple[bytes, str, list[str]]:
    """(UTF-8 bytes feedparser may read, encoding the input was in, warnings): decoded, re-encoded,
    stripped of forbidden control characters, declared as UTF-8, and checked for XML entity tricks."""
    text, encoding, warnings = decode_bytes(data, content_type)
    utf8 = text.encode("utf-8")
    del text
    # Drop C0 control characters that XML forbids; expat would otherwise give up on the whole feed.
    utf8 = utf8.translate(None, _CONTROL)
    utf8 = _XML_DECL_ENC.sub(rb'\1"utf-8"', utf8, count=1)
    check_xml_safety(utf8)
    return utf8, encoding, warnings


def _run_feedparser(utf8: bytes, base_url: str):
    """feedparser's result for the UTF-8 bytes; its crashes on garbage become a ParseError."""
    headers = {"content-type": "application/xml; charset=utf-8"}
    if base_url:
        headers["content-location"] = base_url
    # feedparser's own sanitiser and URI resolver are off: nh3 does both, faster and stricter.
    try:
        return feedparser.parse(
            io.BytesIO(utf8), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except (
        RecursionError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        AssertionError,
    ) as exc:
        # feedparser's lenient parser has bugs on some garbage; that is the feed's problem, reported as such.
        raise ParseError(
            "parser_failure", f"the feed parser gave up on this input ({type(exc).__name__}: {exc})"
        ) from exc


def _check_recognised(result, warnings: list[str]) -> None:
    """Refuse a result with neither a feed version nor entries; note a feed that was parsed leniently."""
    if not result.get("version") and not result.get("entries"):
        exc = result.get("bozo_exception")
        detail = f": {exc}" if exc else ""
        raise ParseError(
            "not_a_feed", f"this is not an RSS or Atom feed (nothing recognisable found{detail})"
        )
    if result.get("bozo") and result.get("bozo_exception") is not None:
        exc = result["bozo_exception"]
        if not isinstance(exc, feedparser.CharacterEncodingOverride):
            warnings.append(f"malformed feed, parsed leniently: {exc}")


def _feed_header(
    feed, *, encoding, version, warnings, base_url, default_language, source_title
) -> ParsedFeed:
    """The ParsedFeed, still without entries: the feed's title, link and language."""
    return ParsedFeed(
        title=html_to_text(feed.get("title", ""))[:MAX_TITLE] or source_title,
        link=_safe_link(feed.get("link", ""), base_url),
        language=normalise_language(feed.get("language", "")) or normalise_language(default_language),
        encoding=encoding,
        version=version,
        warnings=warnings,
    )


def _add_entries(parsed: ParsedFeed, raw_entries, *, now, base_url, max_entries) -> None:
    """Normalise the entries into `parsed`, up to `max_entries`; count (and report) those skipped."""
    link_base = base_url or parsed.link
    for raw in raw_entries:
        if len(parsed.entries) >= max_entries:
            parsed.skipped += 1
            continue
        entry = _normalise_entry(
            raw, now=now, link_base=link_base, feed_lang=parsed.language, feed_title=parsed.title
        )
        if entry is None:
            parsed.skipped += 1
        else:
            parsed.entries.append(entry)
    if parsed.skipped:
        parsed.warnings.append(f"{parsed.skipped} entries skipped (empty, or beyond the {max_entries} limit)")


def _normalise_entry(raw, *, now, link_base, feed_lang, feed_title) -> ParsedEntry | None:
    title = html_to_text(raw.get("title", ""))[:MAX_TITLE]
    body = ""
    for content in raw.get("content") or []:
        value = content.get("value") or ""
        if len(value) > len(body):
            body = value
    summary = raw.get("summary", "") or ""
    if len(summary) >= len(body) or len(body) > MAX_SUMMARY_INPUT:
        body = summary or body
    link = _safe_link(raw.get("link", ""), link_base)
    summary_html = clean_html(body, link or link_base)
    summary_text = sanitised_to_text(summary_html)[:MAX_SUMMARY_TEXT]
    guid = (raw.get("id") or raw.get("guid") or "").strip()[:MAX_GUID]
    if not title and not summary_text:
        return None
    if not title:
        title = summary_text[:140]
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        published = _to_datetime(raw.get(key))
        if published:
            break
    estimated = published is None or published > now + FUTURE_TOLERANCE or published < EARLIEST
    if estimated:
        published = now
    return ParsedEntry(
        guid=guid,
        link=link,
        canonical_link=canonicalize_url(link),
        title=title,
        summary_html=summary_html,
        summary_text=summary_text,
        published=published,
        published_estimated=estimated,
        language=_entry_language(title, summary_text, feed_lang),
        outlet=outlet_from(link, feed_title),
        content_hash=content_hash(title, summary_text),
    )
