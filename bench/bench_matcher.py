"""Matcher throughput against a naive baseline, measured in the same run.

Baseline: what one would write first - for every entry, one compiled regex search per rule phrase
(terms, reverse terms, reverse cues, exclusions of every rule of the entry's language) over the already
normalised text. The baseline gets the normalised text for free; the matcher's time includes
normalisation, tokenisation, stemming, language detection and scoring. CPU time of this process
is measured (time.process_time), in interleaved rounds, best of each: the machine may be busy.

Prints entries/second for both and the ratio (target: >= 10x).
"""

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indicators.matching.evaluate import load_labelled  # noqa: E402
from indicators.matching.rules import fixture_matcher  # noqa: E402
from indicators.matching.text import normalise  # noqa: E402

SAMPLE = 3000  # labelled items, every n-th: the bench's cost does not grow with the labelled set
REPEAT = 2
ROUNDS = 7
TARGET = 10.0


def naive_patterns(matcher):
    patterns = {}
    for rule in matcher.rules:
        phrases = [*rule.terms, *rule.reverse_terms, *rule.reverse_cues, *rule.exclusions]
        for raw in phrases:
            text = normalise(raw.rpartition("|")[0] if "|" in raw else raw).replace("*", "")
            words = [re.escape(w) for w in text.split()]
            patterns.setdefault(rule.lang, []).append(re.compile(r"\b" + r"\W+(?:\w+\W+){0,2}".join(words)))
    return patterns


def timed(fn):
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def main():
    matcher = fixture_matcher()
    rows = load_labelled()
    rows = rows[:: max(1, len(rows) // SAMPLE)][:SAMPLE]
    entries = [(r["title"], r.get("summary") or "", r["lang"]) for r in rows] * REPEAT
    patterns = naive_patterns(matcher)
    normalised = [(normalise(t), normalise(s), lang) for t, s, lang in entries]

    for title, summary, _ in entries[:200]:  # warm caches (stems, language model) for both sides
        matcher.match(title, summary)

    def run_matcher():
        found = 0
        for title, summary, _ in entries:
            found += len(matcher.match(title, summary))
        return found

    def run_naive():
        hits = 0
        for title, summary, lang in normalised:
            for pattern in patterns[lang]:
                if pattern.search(title) or pattern.search(summary):
                    hits += 1
        return hits

    # Interleaved rounds, best of each: other load on the machine hits both sides alike.
    matcher_time = naive_time = float("inf")
    for _ in range(ROUNDS):
        elapsed, found = timed(run_matcher)
        matcher_time = min(matcher_time, elapsed)
        elapsed, _ = timed(run_naive)
        naive_time = min(naive_time, elapsed)

    n = len(entries)
    phrases = sum(len(p) for p in patterns.values())
    ratio = naive_time / matcher_time
    print(f"bench_matcher: {n} entries, {len(matcher.rules)} rules, {phrases} phrases")
    print(f"  matcher : {n / matcher_time:10.0f} entries/s  ({found} matches)")
    print(
        f"  naive   : {n / naive_time:10.0f} entries/s  (one regex search per phrase of the entry's language)"
    )
    print(
        f"  ratio   : {ratio:.1f}x  (target >= {TARGET:.0f}x) {'OK' if ratio >= TARGET else 'BELOW TARGET'}"
    )


if __name__ == "__main__":
    main()
