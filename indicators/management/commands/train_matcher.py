"""manage.py train_matcher [--no-reviews] [--no-activate] [--export DIR] [--file PATH]

Trains the learned matcher from the labelled headlines (tests/data/headlines.jsonl, splits dev and test)
plus every analyst decision in the database, stores it as a new version, prints its figures on the frozen
holdout (never used to train or tune) and what it would change on recent stored entries, and makes it
active only if it is no worse on the holdout than the active version (indicators.matching.retraining).
`--export DIR` also writes the model file shipped with Watchpost (fixtures/matcher/).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from indicators.matching import quality
from indicators.matching.evaluate import DEFAULT_FILE
from indicators.matching.retraining import RetrainError, retrain


class Command(BaseCommand):
    help = "Train the learned matcher, report it on the frozen holdout, activate it if no worse."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="labelled headlines (JSON lines)")
        parser.add_argument("--no-reviews", action="store_true", help="leave the analysts' decisions out")
        parser.add_argument(
            "--no-activate", action="store_true", help="store the candidate, do not activate it"
        )
        parser.add_argument(
            "--export", type=Path, help="also write model.npz and model.json into this folder"
        )

    def handle(self, *args, file, no_reviews, no_activate, export, **options):
        self.stderr.write("training (the first run embeds the labelled set: about a minute) ...")
        try:
            result = retrain(timezone.now(), file=file, reviews=not no_reviews, activate=not no_activate)
        except RetrainError as exc:
            raise CommandError(str(exc)) from None
        n = result.report.overall.items
        self.stdout.write(
            quality.format_report(f"== frozen holdout: {n} items ==", result.report, result.intervals)
        )
        self.stdout.write(f"validation (test split): {json.dumps(result.validation)}")
        changes = result.changes
        gained, lost, flipped = (len(changes[k]) for k in ("gained", "lost", "flipped"))
        self.stdout.write(
            f"against the active model on {changes['entries']} stored entries: {gained} gained, {lost} lost, "
            f"{flipped} direction changed"
        )
        for kind in ("gained", "lost", "flipped"):
            for item in changes[kind][:10]:
                self.stdout.write(f"  {kind}: {item['indicator']} · {item['title']}")
        self.stdout.write(result.message)
        if export:
            self._export(export, result)

    def _export(self, folder: Path, result) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.npz").write_bytes(result.model.to_bytes())
        meta = {
            "version": result.model.version,
            "encoder": result.model.encoder,
            "validation": result.validation,
            "holdout": result.holdout,
        }
        (folder / "model.json").write_text(
            json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        self.stdout.write(f"wrote {folder / 'model.npz'} and model.json")
