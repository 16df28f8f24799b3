"""Parsing feed bytes: normalised entries, hostile HTML, XML entity bombs, wrong encodings, garbage."""

from __future__ import annotations

import io
import xml.sax
from datetime import UTC, datetime, timedelta

import pytest

from tracker.feeds.parsing import ParseError, canonicalize_url, clean_html, parse_feed

NOW = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)


def rss(
    items: str, *, lang: str = "en", decl: str = '<?xml version="1.0" encoding="utf-8"?>', title="Wire"
) -> str:
    return (
        f'{decl}<rss version="2.0"><channel><title>{title}</title><link>https://wire.example.com/</link>'
        f"<language>{lang}</language>{items}</channel></rss>"
    )


ITEM = """<item><title>Russia and Ukraine swap 146 prisoners of war</title>
<link>https://www.Wire.example.com/world/swap-146?utm_source=rss&amp;utm_medium=feed&amp;id=7&amp;fbclid=abc#top</link>
<guid isPermaLink="false">wire-123</guid>
<pubDate>Sun, 24 Aug 2025 09:30:00 +0300</pubDate>
<description>&lt;p&gt;The exchange was &lt;b&gt;mediated&lt;/b&gt; by the UAE.&lt;/p&gt;
</description></item>"""


def test_rss_entry_is_normalised():
    feed = parse_feed(rss(ITEM).encode(), now=NOW)
    assert feed.title == "Wire"
    assert feed.language == "en"
    assert feed.version == "rss20"
    [e] = feed.entries
    assert e.guid == "wire-123"
    assert e.title == "Russia and Ukraine swap 146 prisoners of war"
    assert e.link.startswith("https://www.Wire.example.com/world/swap-146")
    assert e.canonical_link == "https://wire.example.com/world/swap-146?id=7"
    assert e.published == datetime(2025, 8, 24, 6, 30, tzinfo=UTC)
    assert e.published.tzinfo is not None and not e.published_estimated
    assert e.summary_html == "<p>The exchange was <b>mediated</b> by the UAE.</p>"
    assert e.summary_text == "The exchange was mediated by the UAE."
    assert e.outlet == "wire.example.com"
    assert e.language == "en"
    assert len(e.content_hash) == 64


def test_atom_feed():
    atom = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><title>Le Fil</title>
<link href="https://fil.example.fr/"/><id>urn:fil</id><updated>2025-08-30T10:00:00Z</updated>
<entry><title>Kiev et Moscou échangent des prisonniers</title><id>urn:fil:1</id>
<link href="/international/article/2025/08/30/echange.html?xtor=RSS-3208"/>
<updated>2025-08-30T10:00:00Z</updated>
<content type="html">&lt;p&gt;Un échange de prisonniers a eu lieu samedi
entre la Russie et l'Ukraine.&lt;/p&gt;</content>
</entry></feed>"""
    feed = parse_feed(atom.encode(), now=NOW, base_url="https://fil.example.fr/rss")
    [e] = feed.entries
    assert e.guid == "urn:fil:1"
    assert e.link == "https://fil.example.fr/international/article/2025/08/30/echange.html?xtor=RSS-3208"
    assert e.canonical_link == "https://fil.example.fr/international/article/2025/08/30/echange.html"
    assert e.language == "fr"
    assert "Un échange de prisonniers a eu lieu samedi entre la Russie" in e.summary_text


HOSTILE = """<item><title>&lt;script&gt;alert('t')&lt;/script&gt;Ceasefire &lt;b&gt;talks&lt;/b&gt;</title>
<link>javascript:alert(document.cookie)</link>
<description><![CDATA[<p onclick="steal()">Talks <script>alert(1)</script>resume
<img src="x" onerror="alert(2)"> <a href="javascript:alert(3)">click</a> <a href="https://ok.example/">ok</a>
<iframe src="https://evil.example/"></iframe><style>body{display:none}</style>
<svg onload="alert(4)"></svg><a href="data:text/html;base64,PHNjcmlwdD4=">d</a></p>]]></description></item>"""


def test_hostile_html_is_sanitised():
    [e] = parse_feed(rss(HOSTILE).encode(), now=NOW).entries
    low = e.summary_html.lower()
    for bad in (
        "<script",
        "alert(1)",
        "onerror",
        "onclick",
        "onload",
        "javascript:",
        "<iframe",
        "<style",
        "data:",
    ):
        assert bad not in low, bad
    assert '<a href="https://ok.example/" rel="noopener noreferrer nofollow">ok</a>' in e.summary_html
    assert "Talks" in e.summary_text and "alert" not in e.summary_text
    assert e.title == "Ceasefire talks"
    assert e.link == ""  # a javascript: link is not kept


def test_clean_html_keeps_plain_formatting():
    assert clean_html('<p>a <em>b</em> <a href="http://x.example/p">c</a></p>') == (
        '<p>a <em>b</em> <a href="http://x.example/p" rel="noopener noreferrer nofollow">c</a></p>'
    )


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10))
    + ']><rss version="2.0"><channel><title>&lol9;</title><item><title>x</title></item></channel></rss>'
)
QUADRATIC = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + "A" * 50_000
    + '">]><rss version="2.0"><channel><title>t</title><item><title>x</title><description>'
    + "&a;" * 50_000
    + "</description></item></channel></rss>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<rss version="2.0"><channel><title>&xxe;</title><item><title>x</title></item></channel></rss>'
)
PARAM = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]>'
    '<rss version="2.0"><channel><title>t</title><item><title>x</title></item></channel></rss>'
)


@pytest.mark.parametrize(
    "doc", [BILLION_LAUGHS, QUADRATIC, XXE, PARAM], ids=["laughs", "quadratic", "xxe", "param"]
)
def test_entity_declarations_are_refused(doc):
    with pytest.raises(ParseError) as err:
        parse_feed(doc.encode(), now=NOW)
    assert err.value.kind == "xml_entities"
    assert "billion laughs" in err.value.message


def test_entity_refusal_survives_utf16():
    with pytest.raises(ParseError) as err:
        parse_feed(b"\xff\xfe" + BILLION_LAUGHS.encode("utf-16-le"), now=NOW)
    assert err.value.kind == "xml_entities"


def test_installed_expat_also_stops_amplification_on_its_own():
    # Second line of defence, checked here so an old expat (< 2.4) shows up as a failing test.
    parser = xml.sax.make_parser()  # noqa: S317 - deliberately the raw parser
    parser.setContentHandler(xml.sax.handler.ContentHandler())
    with pytest.raises(xml.sax.SAXParseException, match="amplification"):
        parser.parse(io.BytesIO(BILLION_LAUGHS.encode()))


def test_plain_doctype_without_entities_is_fine():
    doc = rss(ITEM).replace(
        '<rss version="2.0">',
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="2.0">',
    )
    assert len(parse_feed(doc.encode(), now=NOW).entries) == 1


RU_ITEM = (
    "<item><title>Россия и Украина провели обмен пленными</title>"
    "<description>Обмен военнопленными состоялся при посредничестве ОАЭ, сообщили в Москве.</description>"
    "<link>https://ru.example/1</link></item>"
)


def test_cp1251_mislabelled_as_utf8_is_read_as_cyrillic():
    body = rss(RU_ITEM, lang="ru").encode("cp1251")  # declaration still says utf-8
    feed = parse_feed(body, now=NOW, content_type="application/rss+xml; charset=utf-8")
    assert feed.entries[0].title == "Россия и Украина провели обмен пленными"
    assert feed.encoding == "cp1251"
    assert any("wrong" in w or "guessed" in w for w in feed.warnings)


def test_utf8_body_declared_as_latin1_is_read_as_utf8():
    body = rss(RU_ITEM, lang="ru", decl='<?xml version="1.0" encoding="iso-8859-1"?>').encode("utf-8")
    feed = parse_feed(body, now=NOW, content_type="text/xml; charset=iso-8859-1")
    assert feed.entries[0].title == "Россия и Украина провели обмен пленными"
    assert feed.encoding == "utf-8"


def test_declared_koi8r_is_honoured():
    body = rss(RU_ITEM, lang="ru", decl='<?xml version="1.0" encoding="koi8-r"?>').encode("koi8-r")
    feed = parse_feed(body, now=NOW)
    assert feed.entries[0].title == "Россия и Украина провели обмен пленными"


def test_latin1_french_declared_in_http_header():
    item = "<item><title>Négociations à Genève</title><link>https://fr.example/1</link></item>"
    body = rss(item, lang="fr", decl='<?xml version="1.0"?>').encode("latin-1")
    feed = parse_feed(body, now=NOW, content_type="application/xml; charset=ISO-8859-1")
    assert feed.entries[0].title == "Négociations à Genève"


def test_utf16_with_bom():
    body = rss(RU_ITEM, lang="ru", decl='<?xml version="1.0" encoding="utf-16"?>').encode("utf-16")
    assert parse_feed(body, now=NOW).entries[0].title == "Россия и Украина провели обмен пленными"


def test_malformed_xml_is_parsed_leniently_with_a_warning():
    body = rss(ITEM + "<item><title>Unclosed <b>tag</title><link>https://wire.example.com/2</link></item>")
    body = body.replace("</channel></rss>", "")  # truncated document
    feed = parse_feed(body.encode(), now=NOW)
    assert len(feed.entries) == 2
    assert any("malformed" in w for w in feed.warnings)


def test_control_characters_do_not_break_the_feed():
    body = rss(ITEM.replace("swap", "swap\x0b\x01")).encode()
    feed = parse_feed(body, now=NOW)
    assert feed.entries[0].title == "Russia and Ukraine swap 146 prisoners of war"
    assert feed.warnings == []


@pytest.mark.parametrize(
    "body,kind",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<html><head><title>Hi</title></head><body><p>Not a feed</p></body></html>", "not_a_feed"),
        (bytes(range(256)) * 40, "not_a_feed"),
        (b'{"items": []}', "not_a_feed"),
    ],
    ids=["empty", "blank", "html", "binary", "json"],
)
def test_not_a_feed_is_a_clear_error(body, kind):
    with pytest.raises(ParseError) as err:
        parse_feed(body, now=NOW)
    assert err.value.kind == kind
    assert err.value.message


def test_oversized_input_is_refused_before_parsing():
    with pytest.raises(ParseError) as err:
        parse_feed(b"<rss>" + b" " * 2000, now=NOW, max_bytes=1000)
    assert err.value.kind == "too_large"
    assert "1,000" in err.value.message


def test_entry_count_is_capped():
    items = "".join(
        f"<item><title>Story number {i}</title><link>https://w.example/{i}</link></item>" for i in range(30)
    )
    feed = parse_feed(rss(items).encode(), now=NOW, max_entries=10)
    assert [e.title for e in feed.entries] == [f"Story number {i}" for i in range(10)]
    assert "only the first 10 were read" in feed.warnings[0]
    assert not any("malformed" in w for w in feed.warnings)  # cut cleanly, closing tags restored


def test_endless_tiny_items_are_cut_before_parsing():
    items = "".join(f"<item><title>t{i}</title></item>" for i in range(300_000))  # ~8 MB
    feed = parse_feed(rss(items).encode(), now=NOW)
    assert len(feed.entries) == 1000
    assert "only the first 1000 were read" in feed.warnings[0]


def test_deeply_nested_markup_is_refused():
    item = "<item><title>x</title><description>" + "<a>" * 70_000 + "</description></item>"
    with pytest.raises(ParseError) as err:
        parse_feed(rss(item).encode(), now=NOW)
    assert err.value.kind == "too_complex"
    assert "60,000 XML elements" in err.value.message


def test_html_in_cdata_does_not_count_as_markup():
    body = "<p>para</p>" * 10_000  # 20,000 tags, inside CDATA
    item = f"<item><title>Long article</title><description><![CDATA[{body}]]></description></item>"
    [e] = parse_feed(rss(item).encode(), now=NOW, max_elements=1000).entries
    assert e.summary_text.startswith("para para")


def test_dates_far_future_or_missing_are_replaced_by_now():
    items = (
        "<item><title>From the future</title><link>https://w.example/f</link>"
        "<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
        "<item><title>No date at all</title><link>https://w.example/n</link></item>"
        "<item><title>Slightly ahead clock</title><link>https://w.example/s</link>"
        "<pubDate>Mon, 01 Sep 2025 14:00:00 GMT</pubDate></item>"
    )
    a, b, c = parse_feed(rss(items).encode(), now=NOW).entries
    assert (a.published, a.published_estimated) == (NOW, True)
    assert (b.published, b.published_estimated) == (NOW, True)
    assert (c.published, c.published_estimated) == (NOW + timedelta(hours=2), False)


def test_entries_without_title_or_text_are_skipped():
    items = "<item><link>https://w.example/x</link></item><item><title>Real</title></item>"
    feed = parse_feed(rss(items).encode(), now=NOW)
    assert [e.title for e in feed.entries] == ["Real"]
    assert feed.skipped == 1


def test_language_per_entry_ukrainian_vs_russian():
    items = (
        "<item><title>Україна та Росія провели обмін полоненими, повідомив Зеленський</title></item>"
        "<item><title>Россия и Украина провели обмен пленными, сообщил Песков</title></item>"
    )
    uk, ru = parse_feed(rss(items, lang="").encode(), now=NOW).entries
    assert uk.language == "uk"
    assert ru.language == "ru"


def test_default_language_used_for_short_titles():
    items = "<item><title>Kyiv</title></item>"
    feed = parse_feed(rss(items, lang="").encode(), now=NOW, default_language="uk-UA")
    assert feed.entries[0].language == "uk"


def test_same_text_gives_same_hash_whatever_the_spacing_and_case():
    a = "<item><title>Ceasefire  TALKS</title><description>Talks resume.</description></item>"
    b = "<item><title>ceasefire talks</title><description>  Talks   resume. </description></item>"
    ea, eb = parse_feed(rss(a + b).encode(), now=NOW).entries
    assert ea.content_hash == eb.content_hash


@pytest.mark.parametrize(
    "url,expected",
    [
        ("HTTP://WWW.Example.COM:80/a/b?utm_source=x&b=2&a=1#frag", "https://example.com/a/b?a=1&b=2"),
        ("https://example.com/a?gclid=1&yclid=2&ref=tw&fbclid=3&mc_cid=4", "https://example.com/a"),
        ("https://example.com:8443/a?xtor=RSS-1&id=5", "https://example.com:8443/a?id=5"),
        ("https://example.com", "https://example.com/"),
        ("javascript:alert(1)", ""),
        ("ftp://example.com/x", ""),
        ("", ""),
        ("http://[bad", ""),
    ],
)
def test_canonicalize_url(url, expected):
    assert canonicalize_url(url) == expected


def test_relative_links_in_summaries_are_made_absolute():
    item = (
        "<item><title>Talks</title><link>https://wire.example.com/world/talks</link>"
        '<description><![CDATA[<a href="/world/background">background</a> '
        '<img src="pic.jpg">]]></description>'
        "</item>"
    )
    [e] = parse_feed(rss(item).encode(), now=NOW).entries
    assert 'href="https://wire.example.com/world/background"' in e.summary_html
    assert 'src="https://wire.example.com/world/pic.jpg"' in e.summary_html
