"""Build tests/data/headlines.jsonl from the readable sources: .venv/bin/python tests/data/build_headlines.py

Source line: `labels | title | summary`, labels being codes with + (advance) or - (reverse), or `-` for a
negative; a leading `T ` marks an entry from a theatre feed; `# voice: NAME` comment lines name the voice
of the items that follow. Three sources, each language written on its own (never translated):

- src/<lang>.txt: the first set, written next to the rules (split `dev`, training only);
- train/<lang>.txt (and neg-<lang>.txt, batch<N>-<lang>.txt, written later): written by other writers
  who saw neither the rules nor each other's items: three
  quarters `dev` (training), one quarter `test` (model selection and the decision threshold), chosen by a
  stable hash of the title so that adding items never moves old ones;
- retired/<lang>.txt: the first frozen holdout (written apart by writers who saw neither the rules nor
  the training items), retired on 2026-12-01 after six readings, and retired/batch2-<lang>.txt, the
  second (written apart by a writer who saw neither the code, the rules nor any other set), retired on
  2026-12-01 after eight readings: both split like train/ since;
- a training item that is (nearly) the same headline as an item of a measured set gets the split
  `overlaps-holdout` and is never used (writers working apart still reach for the same real events, in
  the same words);
- holdout/<lang>.txt: the FROZEN holdout, written apart on 2026-12-01 by an eighth writer who saw neither
  the code, the rules nor any other set; measured as the `unseen` set for two models (nothing decided on
  it) before it became the holdout. Never tuned on; it judges retrained models and `make eval` reports it
  first. Its checksums are in holdout/SHA256SUMS, and a test fails if a file changes.
- long2/<lang>.txt: 240 items whose summaries run 3 to 5 sentences (350-650 characters), the decisive
  fact after the first sentence in half of them, 96 negatives of which a third recall an indicator's
  event only as background; written apart on 2026-12-01 by an eleventh writer, split `long2`, measured
  only. Checksummed. (The first long-summary set, `long/`, chose one thing and was read for two models;
  it is training batch 9 since.)

- unseen2/<lang>.txt: 300 headlines with one-sentence summaries (112 negatives), written apart on
  2026-12-01 by a twelfth writer, split `unseen2`: measured only, never trained, tuned or judged on (the
  part the first unseen set played before it became the holdout). Checksummed.

Training items that are near copies of a headline of these measured sets get the split `overlaps-holdout`.
"""

import hashlib
import json
import re
from difflib import SequenceMatcher
from pathlib import Path

HERE = Path(__file__).resolve().parent
CODES = {
    "sr": "strike-reduction",
    "ss": "sector-stabilisation",
    "hw": "heavy-weapons-withdrawal",
    "vm": "verification-mechanism",
    "mh": "military-hotline",
    "cf": "ceasefire",
    "px": "prisoner-exchange",
    "ev": "evacuation",
    "ci": "civilian-infrastructure-protection",
    "sg": "security-guarantees",
    "s2": "second-summit",
    "rl": "sanctions-relief",
    "pf": "peace-framework",
    "ct": "consequences-threat",
    "sp": "sanctions-pressure",
    "ms": "military-support-pressure",
}
LANGS = ("en", "fr", "ru", "uk")
SOURCES = ("src", "train", "retired", "holdout", "long2", "unseen2")
FROZEN = ("holdout", "long2", "unseen2")  # measured only, never trained on


class SourceLineError(ValueError):
    pass


def parse_line(line: str) -> dict:
    if line.count("|") != 2:
        raise SourceLineError(f"expected `labels | title | summary` (two `|`), got: {line[:80]}")
    labels_part, title, summary = (part.strip() for part in line.split("|", 2))
    theatre = False
    if labels_part.startswith("T "):
        theatre, labels_part = True, labels_part[2:].strip()
    labels = []
    for code in labels_part.split():
        if code == "-":
            continue
        if code[:-1] not in CODES or code[-1] not in "+-":
            raise SourceLineError(f"unknown label {code!r} in: {line[:80]}")
        labels.append(
            {"indicator": CODES[code[:-1]], "direction": "advance" if code[-1] == "+" else "reverse"}
        )
    if not title:
        raise SourceLineError(f"empty title in: {line[:80]}")
    return {"title": title, "summary": summary, "theatre": theatre, "labels": labels}


def split_for(source: str, title: str) -> str:
    if source in FROZEN:
        return source
    if source == "src":
        return "dev"
    bucket = int(hashlib.sha256(title.encode("utf-8")).hexdigest()[:8], 16) % 4
    return "test" if bucket == 0 else "dev"


def _batch_number(path: Path) -> int:
    """batch10 comes after batch9 (not after batch1, as the names sort)."""
    return int(re.match(r"batch(\d+)-", path.name).group(1))


def _lines(source: str, lang: str):
    """The lines of <source>/<lang>.txt, then of <source>/neg-<lang>.txt (negatives written later), then of
    each later batch, <source>/batch<N>-<lang>.txt in the order of N (ids of earlier items never move)."""
    later = sorted((HERE / source).glob(f"batch*-{lang}.txt"), key=_batch_number)
    for path in [HERE / source / f"{lang}.txt", HERE / source / f"neg-{lang}.txt", *later]:
        if path.exists():
            yield from path.read_text(encoding="utf-8").splitlines()


def parse_source(source: str, lang: str) -> list[dict]:
    rows, voice = [], ""
    for line in _lines(source, lang):
        stripped = line.strip()
        if stripped.startswith("# voice:"):
            voice = stripped.split(":", 1)[1].strip()
        if not stripped or stripped.startswith("#"):
            continue
        row = parse_line(stripped)
        rows.append(
            {
                "id": f"{lang}-{source}-{len(rows) + 1:04d}",
                "lang": lang,
                "split": split_for(source, row["title"]),
                "source": source,
                "voice": voice,
                **row,
            }
        )
    return rows


def _words(title: str) -> set[str]:
    return set(re.findall(r"\w+", title.casefold()))


def overlaps(title: str, holdout_titles: list[tuple[str, set[str]]]) -> bool:
    """Is `title` (nearly) the same headline as one of the holdout's? Writers working apart still reach
    for the same real events, sometimes in the same words: such an item would leak the holdout."""
    words = _words(title)
    low = title.casefold()
    for other, other_words in holdout_titles:
        shared = len(words & other_words) / max(1, len(words | other_words))
        if shared >= 0.5 or (shared >= 0.3 and SequenceMatcher(None, low, other).ratio() >= 0.8):
            return True
    return False


def build() -> str:
    rows = [row for source in SOURCES for lang in LANGS for row in parse_source(source, lang)]
    holdout = {
        lang: [
            (r["title"].casefold(), _words(r["title"]))
            for r in rows
            if r["split"] in FROZEN and r["lang"] == lang
        ]
        for lang in LANGS
    }
    for row in rows:
        if row["split"] in ("dev", "test") and overlaps(row["title"], holdout[row["lang"]]):
            row["split"] = "overlaps-holdout"  # kept for the record, never trained or tuned on
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def holdout_checksums(folder: str = "holdout") -> str:
    lines = []
    for lang in LANGS:
        path = HERE / folder / f"{lang}.txt"
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {lang}.txt")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (HERE / "headlines.jsonl").write_text(build(), encoding="utf-8")
    print("wrote", HERE / "headlines.jsonl")
