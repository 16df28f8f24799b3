"""The learned model's lexical features: the character n-grams of an entry's text, hashed, weighed by
tf-idf, beside its sentence vector and the rules' evidence.

Why characters and not words or phrase lists: Russian and Ukrainian inflect (удар, ударов, ударами;
обмін, обміну), French and English compound and abbreviate, and writers we never read use other words
for the same thing. N-grams of 3 to 5 characters inside word boundaries catch the stems and the
specific names (Rosneft, Druzhba, PURL) that a 384-dimension sentence vector blurs. They are learned
from the labelled items, per indicator, like the rest of the model: nobody writes them.

Measured on the labelled items only (never the holdout), with cross-validation that holds out one
writer's items at a time (a new writer is what the holdout is): at the same precision, recall rose by
about two points, and every writer's items gained (CONTRIBUTING.md has the figures).

Hashing (scikit-learn's HashingVectorizer, MurmurHash3, stable across releases) keeps the model a set of
arrays: no vocabulary to store, and a text is featurised on its own, with no fitted state but the idf.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse

# The configuration a new model records in its meta (an older model without it reads no n-grams).
LEXICAL = {"analyzer": "char_wb", "ngram_range": [3, 5], "n_features": 2**16, "scale": 3.0}


def counts(texts: list[str], config: dict) -> sparse.csr_matrix:
    """Sublinear term frequencies (1 + log tf) of the hashed n-grams of `texts`, lower-cased."""
    if not texts:
        return sparse.csr_matrix((0, int(config["n_features"])), dtype=np.float32)
    matrix = _vectorizer(config["analyzer"], tuple(config["ngram_range"]), int(config["n_features"]))
    matrix = matrix.transform(texts).tocsr().astype(np.float32)
    matrix.data = 1.0 + np.log(matrix.data)
    return matrix


@lru_cache(maxsize=4)
def _vectorizer(analyzer: str, ngram_range: tuple, n_features: int):
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer=analyzer,
        ngram_range=ngram_range,
        n_features=n_features,
        alternate_sign=False,
        norm=None,
        lowercase=True,
    )


def fit_idf(matrix: sparse.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency of each hashed n-gram over the training texts (as
    scikit-learn's TfidfTransformer: log((1 + n) / (1 + df)) + 1)."""
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    n = matrix.shape[0]
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def weigh(matrix: sparse.csr_matrix, idf: np.ndarray, scale: float) -> sparse.csr_matrix:
    """tf-idf rows, each of L2 norm `scale` (an empty text stays all zero)."""
    out = sparse.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.data *= idf[out.indices]
    rows = np.repeat(np.arange(out.shape[0]), np.diff(out.indptr))
    norms = np.sqrt(np.bincount(rows, weights=out.data.astype(np.float64) ** 2, minlength=out.shape[0]))
    out.data *= (scale / np.where(norms > 0, norms, 1.0))[rows].astype(np.float32)
    return out


def weighing_words(
    text: str, config: dict, idf: np.ndarray, weights_t: np.ndarray, k: int = 3, text_counts=None
) -> list[list[str]]:
    """For each indicator (`weights_t`: n-grams x indicators), the k words of `text` whose n-grams pushed
    its score up the most, for the explanation. A bucket shared by several words is split evenly.
    `text_counts`: `counts([text], config)`, when the caller has them."""
    tokens = list(dict.fromkeys(text.split()))
    if not tokens:
        return [[] for _ in range(weights_t.shape[1])]
    whole = weigh(counts([text], config) if text_counts is None else text_counts, idf, config["scale"])
    value = np.zeros(weights_t.shape[0], dtype=np.float32)
    value[whole.indices] = whole.data
    per_token = counts(tokens, config)
    per_token.data[:] = 1.0
    sharing = np.maximum(np.asarray(per_token.sum(axis=0)).ravel(), 1.0)
    share = sparse.csr_matrix(per_token.multiply((value / sharing)[None, :]))
    pushes = np.asarray(share @ weights_t)  # tokens x indicators
    words = [token.strip(".,;:!?«»“”\"'()") for token in tokens]
    out = []
    for column in pushes.T:
        order = [i for i in np.argsort(-column) if column[i] > 0 and words[i]]
        out.append([words[i] for i in order[:k]])
    return out
