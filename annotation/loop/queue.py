"""Active-learning queue strategies: pure functions over model predictions (numpy, no database).

Each strategy turns a list of :class:`Candidate` into a queue order (most useful first). Ties are
broken by ``key`` (the sentence id, i.e. document order), so every strategy is deterministic; the
random one is deterministic for a fixed seed.

The uncertainty signals are the ones ``mlcore`` puts in ``Prediction.uncertainty``:
``{entity,relation}_lc_max`` (worst item's least confidence), ``{entity,relation}_margin_min``,
``{entity,relation}_lc_norm`` and ``{entity,relation}_entropy_norm`` (sums over items divided by
the sentence's word count), and, with MC dropout, ``bald``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STRATEGIES = (
    "sequential", "random", "least_confidence", "margin", "entropy", "mnlp", "bald", "joint_diverse",
)


@dataclass
class Candidate:
    """One unlabelled sentence with its prediction's signals."""

    key: int
    uncertainty: dict[str, float] = field(default_factory=dict)
    embedding: Sequence[float] | None = None
    n_words: int = 1


def _u(c: Candidate, name: str, default: float = 0.0) -> float:
    return float(c.uncertainty.get(name, default))


def _least_confidence(c: Candidate) -> float:
    return max(_u(c, "entity_lc_max"), _u(c, "relation_lc_max"))


def _margin(c: Candidate) -> float:
    # A small margin between the two best labels is uncertain: invert so that higher comes first.
    return 1.0 - min(_u(c, "entity_margin_min", 1.0), _u(c, "relation_margin_min", 1.0))


def _entropy(c: Candidate) -> float:
    # Total (not length-normalised) entropy: long sentences with many uncertain items come first.
    return (_u(c, "entity_entropy_norm") + _u(c, "relation_entropy_norm")) * max(1, c.n_words)


def _mnlp(c: Candidate) -> float:
    # Length-normalised least confidence (Shen et al. 2018's MNLP up to the log): long sentences
    # are not preferred just for being long.
    return _u(c, "entity_lc_norm") + _u(c, "relation_lc_norm")


def _joint(c: Candidate) -> float:
    return _u(c, "entity_entropy_norm") + _u(c, "relation_entropy_norm")


def _bald(c: Candidate) -> float:
    # Predictions made without MC dropout carry no BALD score; they fall back to joint entropy.
    return _u(c, "bald") if "bald" in c.uncertainty else _joint(c)


SCORERS: dict[str, Callable[[Candidate], float]] = {
    "least_confidence": _least_confidence,
    "margin": _margin,
    "entropy": _entropy,
    "mnlp": _mnlp,
    "bald": _bald,
    "joint_diverse": _joint,
}


def _by_score(cands: Sequence[Candidate], scores: np.ndarray) -> list[int]:
    keys = np.array([c.key for c in cands], dtype=np.int64)
    order = np.lexsort((keys, -scores))  # last key is primary: score descending, then key ascending
    return [int(keys[i]) for i in order]


def k_center_greedy(vectors: np.ndarray, first: int = 0) -> list[int]:
    """Order rows so each next one is the farthest from all chosen so far (Sener & Savarese 2018).

    ``vectors`` is [n, d]; returns a permutation of ``range(n)`` starting at ``first``. Ties go to
    the lower index, so the result is deterministic.
    """
    n = vectors.shape[0]
    if n == 0:
        return []
    chosen = [first]
    # min_dist[i]: distance of row i to its nearest chosen row, shape [n]
    min_dist = np.linalg.norm(vectors - vectors[first], axis=1)
    min_dist[first] = -1.0
    for _ in range(n - 1):
        nxt = int(np.argmax(min_dist))
        chosen.append(nxt)
        min_dist = np.minimum(min_dist, np.linalg.norm(vectors - vectors[nxt], axis=1))
        min_dist[chosen] = -1.0
    return chosen


def _joint_diverse(cands: Sequence[Candidate], pool_size: int) -> list[int]:
    by_u = _by_score(cands, np.array([_joint(c) for c in cands], dtype=np.float64))
    pool_keys = by_u[:pool_size]
    by_key = {c.key: c for c in cands}
    pool = [by_key[k] for k in pool_keys]
    if len(pool) < 2 or any(c.embedding is None for c in pool):
        return by_u
    emb = np.asarray([c.embedding for c in pool], dtype=np.float64)  # [pool, d]
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)  # cosine geometry
    picked = k_center_greedy(emb, first=0)  # the most uncertain sentence leads
    return [pool_keys[i] for i in picked] + by_u[pool_size:]


def rank(
    strategy: str, candidates: Sequence[Candidate], *, seed: int = 0, pool_size: int = 200,
) -> list[int]:
    """The queue order (keys, most useful first) of ``candidates`` under ``strategy``.

    ``joint_diverse`` takes the ``pool_size`` most uncertain sentences (joint entity + relation
    entropy) and orders that pool by k-center greedy over the embeddings, so near-duplicates do not
    fill the head of the queue; the rest follow by uncertainty.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown queue strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    cands = sorted(candidates, key=lambda c: c.key)
    if strategy == "sequential":
        return [c.key for c in cands]
    if strategy == "random":
        perm = np.random.default_rng(seed).permutation(len(cands))
        return [cands[int(i)].key for i in perm]
    if strategy == "joint_diverse":
        return _joint_diverse(cands, pool_size)
    scorer = SCORERS[strategy]
    return _by_score(cands, np.array([scorer(c) for c in cands], dtype=np.float64))


def queue_scores(order: Sequence[int]) -> dict[int, float]:
    """Turn a queue order into descending scores (first gets ``len(order)``) for an indexed query."""
    n = len(order)
    return {k: float(n - i) for i, k in enumerate(order)}


def candidate_from(key: int, uncertainty: dict[str, Any], embedding: Any, text: str) -> Candidate:
    """A candidate from a stored prediction row's fields."""
    return Candidate(key=key, uncertainty={k: float(v) for k, v in (uncertainty or {}).items()},
                     embedding=embedding, n_words=max(1, len(text.split())))
