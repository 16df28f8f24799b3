"""Versions of the learned matcher: the active one (cached per process), candidates, activation, rollback.

- `get_combined_matcher()`: the rules (indicators.matching.store) with the active learned model and the
  encoder, or the rules alone when either is missing; `matching_mode()` says which, for /healthz, feed
  health and the review queue.
- `save_candidate(...)` stores a trained model; `activate_if_no_worse(candidate)` makes it active only when
  its micro F1 on the frozen holdout is at least the active model's (so retraining never makes things
  worse on text nobody here tuned on); `activate(version)` and `rollback()` are the admin's.
- The shipped model (fixtures/matcher/) is loaded by a data migration, so a fresh install has one.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tracker.feeds.encoder import encoder_status, get_encoder

from .combined import CombinedMatcher
from .learned import LearnedModel
from .store import get_matcher

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "matcher"
CHECK_SECONDS = 5.0

_lock = threading.Lock()
_cached: dict = {"key": None, "model": None, "checked_at": 0.0}


class VersionError(ValueError):
    """An activation or rollback that cannot be done; the message says why."""


def _active_row():
    from indicators.models import MatcherModel

    return MatcherModel.objects.filter(active=True).only("pk", "version").first()


def active_model() -> LearnedModel | None:
    """The active learned model, reloaded when another version becomes active."""
    now = time.monotonic()
    with _lock:
        if _cached["checked_at"] and now - _cached["checked_at"] < CHECK_SECONDS:
            return _cached["model"]
        row = _active_row()
        key = (row.pk, row.version) if row else None
        if key != _cached["key"]:
            model = None
            if row is not None:
                from indicators.models import MatcherModel

                model = LearnedModel.from_bytes(
                    MatcherModel.objects.values_list("data", flat=True).get(pk=row.pk)
                )
            _cached.update(key=key, model=model)
        _cached["checked_at"] = now
        return _cached["model"]


def clear_cache(**_kwargs) -> None:
    with _lock:
        _cached.update(key=None, model=None, checked_at=0.0)


@receiver(post_save, sender="indicators.MatcherModel", dispatch_uid="matchermodel_saved")
@receiver(post_delete, sender="indicators.MatcherModel", dispatch_uid="matchermodel_deleted")
def _models_changed(**kwargs):
    clear_cache()


def get_combined_matcher() -> CombinedMatcher:
    return CombinedMatcher(get_matcher(), active_model(), get_encoder())


def matching_mode() -> dict:
    """What matches entries now, in words and as fields: for /healthz, feed health and the review queue."""
    status = encoder_status()
    model = active_model()
    if not status.available:
        return {"mode": "rules only", "learned": False, "encoder": "", "model": "", "why": status.detail}
    if model is None:
        return {
            "mode": "rules only",
            "learned": False,
            "encoder": status.name,
            "model": "",
            "why": "no active learned model (run manage.py train_matcher)",
        }
    if model.encoder != status.name:
        return {
            "mode": "rules only",
            "learned": False,
            "encoder": status.name,
            "model": model.version,
            "why": f"the active model was trained on {model.encoder} vectors, not {status.name}",
        }
    return {
        "mode": "rules + learned model",
        "learned": True,
        "encoder": status.name,
        "model": model.version,
        "why": "",
    }


# --------------------------------------------------------------------------- storing and activating


def save_candidate(model: LearnedModel, *, now, validation: dict, holdout: dict, note: str = ""):
    from indicators.models import MatcherModel

    return MatcherModel.objects.create(
        version=model.version,
        encoder=model.encoder,
        created_at=now,
        trained_on=model.meta.get("trained_on", {}),
        validation=validation,
        holdout=holdout,
        note=note,
        data=model.to_bytes(),
    )


def candidates(limit: int = 5):
    """Versions trained and never active yet, newest first: what an admin may compare and activate."""
    from indicators.models import MatcherModel

    rows = MatcherModel.objects.filter(active=False, activated_at__isnull=True).defer("data")
    return list(rows.order_by("-created_at")[:limit])


def _f1(figures: dict) -> float:
    return float((figures or {}).get("f1") or 0.0)


def activate(version: str, *, now) -> None:
    """Make `version` the active model (the admin's choice, or a candidate that passed)."""
    from indicators.models import MatcherModel

    with transaction.atomic():
        row = MatcherModel.objects.select_for_update().filter(version=version).first()
        if row is None:
            raise VersionError(f"no matcher model {version!r}; see the list in the admin")
        MatcherModel.objects.filter(active=True).exclude(pk=row.pk).update(active=False)
        MatcherModel.objects.filter(pk=row.pk).update(active=True, activated_at=now)
    clear_cache()


def activate_if_no_worse(candidate, *, now, active_holdout: dict | None = None) -> tuple[bool, str]:
    """Activate the candidate row when its holdout F1 is at least the active model's. `active_holdout` is
    the active model scored on the same holdout now (else the figures stored with it are used)."""
    current = _active_row()
    if current is not None:
        from indicators.models import MatcherModel

        current = MatcherModel.objects.get(pk=current.pk)
        theirs = active_holdout if active_holdout is not None else current.holdout
        if current.encoder == candidate.encoder and _f1(candidate.holdout) < _f1(theirs):
            return False, (
                f"kept {current.version}: the candidate's holdout F1 {_f1(candidate.holdout):.3f} is below "
                f"{_f1(theirs):.3f}, the active version's on the same holdout"
            )
    activate(candidate.version, now=now)
    return True, f"activated {candidate.version} (holdout F1 {_f1(candidate.holdout):.3f})"


def rollback(*, now) -> str:
    """Activate the version that was active before the current one (the most recently activated other)."""
    from indicators.models import MatcherModel

    current = _active_row()
    previous = (
        MatcherModel.objects.exclude(pk=current.pk if current else None)
        .filter(activated_at__isnull=False)
        .order_by("-activated_at")
        .first()
    )
    if previous is None:
        raise VersionError("there is no earlier active version to roll back to")
    activate(previous.version, now=now)
    return previous.version


SHIPPED_NOTE = "shipped with Watchpost (fixtures/matcher/)"


def load_shipped(model_class=None, *, now=None) -> bool:
    """Store the model shipped in fixtures/matcher/ unless that version is already there. Idempotent.

    It becomes active when no version is active or when the active one is an earlier shipped version;
    a version an admin or the weekly retraining made active stays active, and the shipped one waits as
    a candidate (compare it in the admin, activate it there)."""
    from django.utils import timezone

    if model_class is None:
        from indicators.models import MatcherModel as model_class
    path, meta_path = SHIPPED_DIR / "model.npz", SHIPPED_DIR / "model.json"
    if not path.exists():
        return False
    data = path.read_bytes()
    header = LearnedModel.from_bytes(data)
    if model_class.objects.filter(version=header.version).exists():
        return False
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    active = model_class.objects.filter(active=True).first()
    replace = active is None or active.note == SHIPPED_NOTE
    now = now or timezone.now()
    if active is not None and replace:
        model_class.objects.filter(pk=active.pk).update(active=False)
    model_class.objects.create(
        version=header.version,
        encoder=header.encoder,
        created_at=now,
        active=replace,
        activated_at=now if replace else None,
        trained_on=header.meta.get("trained_on", {}),
        validation=meta.get("validation", {}),
        holdout=meta.get("holdout", {}),
        note=SHIPPED_NOTE,
        data=data,
    )
    return True
