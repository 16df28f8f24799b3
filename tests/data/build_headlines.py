"""Build tests/data/headlines.jsonl from the readable sources in tests/data/src/<lang>.txt.

Source line: `labels | title | summary`, labels being codes with + (advance) or - (reverse), or `-` for a
negative; a leading `T ` marks an entry from a theatre feed. Lines are parallel across languages only
loosely; the split is decided by line position (every third story is held out as `test`), so the same
story is in the same split in every language and the held-out figures are not inflated by translations.
Lines after a `## holdout` line form the `holdout` split: headlines written after a round of rule
changes and only measured, never used to tune the rules (the `test` split was looked at once).

Run: .venv/bin/python tests/data/build_headlines.py
"""

import json
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


def parse_source(lang: str) -> list[dict]:
    rows = []
    lines = []
    holdout = False
    for line in (HERE / "src" / f"{lang}.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("## holdout"):
            holdout = True
        elif line.strip() and not line.startswith("#"):
            lines.append((line, holdout))
    for position, (line, is_holdout) in enumerate(lines):
        labels_part, title, summary = (part.strip() for part in line.split("|", 2))
        theatre = False
        if labels_part.startswith("T "):
            theatre, labels_part = True, labels_part[2:].strip()
        labels = []
        for code in labels_part.split():
            if code == "-":
                continue
            direction = {"+": "advance", "-": "reverse"}[code[-1]]
            labels.append({"indicator": CODES[code[:-1]], "direction": direction})
        row = {
            "id": f"{lang}-{position + 1:03d}",
            "lang": lang,
            "split": "holdout" if is_holdout else ("test" if position % 3 == 1 else "dev"),
            "title": title,
            "summary": summary,
            "theatre": theatre,
            "labels": labels,
        }
        rows.append(row)
    return rows


def build() -> str:
    out = []
    for lang in LANGS:
        out.extend(json.dumps(row, ensure_ascii=False) for row in parse_source(lang))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    (HERE / "headlines.jsonl").write_text(build(), encoding="utf-8")
    print("wrote", HERE / "headlines.jsonl")
