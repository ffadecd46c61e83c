"""annotation.loop.queue: every strategy orders a fixed set of fake predictions deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from annotation.loop.queue import STRATEGIES, Candidate, k_center_greedy, queue_scores, rank


def _c(key, e_ent=0.0, r_ent=0.0, lc=0.0, margin=1.0, lc_norm=0.0, n_words=1, bald=None, emb=None):
    u = {"entity_entropy_norm": e_ent, "relation_entropy_norm": r_ent, "entity_lc_max": lc,
         "relation_lc_max": 0.0, "entity_margin_min": margin, "relation_margin_min": 1.0,
         "entity_lc_norm": lc_norm, "relation_lc_norm": 0.0}
    if bald is not None:
        u["bald"] = bald
    return Candidate(key=key, uncertainty=u, embedding=emb, n_words=n_words)


@pytest.fixture
def cands():
    return [
        _c(1, e_ent=0.1, lc=0.2, margin=0.9, lc_norm=0.05, n_words=20, bald=0.01, emb=[1.0, 0.0]),
        _c(2, e_ent=0.5, lc=0.9, margin=0.1, lc_norm=0.10, n_words=2, bald=0.30, emb=[0.0, 1.0]),
        _c(3, e_ent=0.4, lc=0.5, margin=0.5, lc_norm=0.40, n_words=10, bald=0.20, emb=[0.0, 0.99]),
        _c(4, e_ent=0.3, r_ent=0.15, lc=0.1, margin=0.3, lc_norm=0.20, n_words=4, bald=0.05, emb=[1.0, 0.05]),
    ]


def test_sequential_is_key_order(cands):
    assert rank("sequential", cands[::-1]) == [1, 2, 3, 4]


def test_random_is_seeded(cands):
    a = rank("random", cands, seed=7)
    assert a == rank("random", cands[::-1], seed=7)
    assert sorted(a) == [1, 2, 3, 4]
    assert any(rank("random", cands, seed=s) != a for s in range(10))


@pytest.mark.parametrize(("strategy", "expected"), [
    ("least_confidence", [2, 3, 1, 4]),
    ("margin", [2, 4, 3, 1]),
    ("entropy", [3, 1, 4, 2]),  # total: 0.1*20=2, 0.5*2=1, 0.4*10=4, 0.45*4=1.8
    ("mnlp", [3, 4, 2, 1]),
    ("bald", [2, 3, 4, 1]),
])
def test_uncertainty_strategies(cands, strategy, expected):
    assert rank(strategy, cands) == expected
    assert rank(strategy, cands[::-1]) == expected


def test_bald_without_mc_samples_falls_back_to_joint_entropy(cands):
    for c in cands:
        c.uncertainty.pop("bald")
    assert rank("bald", cands) == [2, 4, 3, 1]


def test_ties_break_by_document_order():
    assert rank("least_confidence", [_c(5, lc=0.5), _c(3, lc=0.5), _c(4, lc=0.9)]) == [4, 3, 5]


def test_joint_diverse_skips_near_duplicates(cands):
    # Joint uncertainty alone: 2 (0.5), 4 (0.45), 3 (0.4), 1 (0.1). Embeddings form two tight
    # clusters, {2, 3} and {1, 4}: k-center greedy starts from the most uncertain (2), then takes the
    # farthest (1, orthogonal), and only then the near-duplicates 4 and 3.
    order = rank("joint_diverse", cands)
    assert order == [2, 1, 4, 3]
    assert order == rank("joint_diverse", cands[::-1])


def test_joint_diverse_pool_limits_reordering(cands):
    # With a pool of 2, only the two most uncertain are reordered; the rest follow by uncertainty.
    assert rank("joint_diverse", cands, pool_size=2) == [2, 4, 3, 1]


def test_joint_diverse_without_embeddings_is_joint_uncertainty(cands):
    for c in cands:
        c.embedding = None
    assert rank("joint_diverse", cands) == [2, 4, 3, 1]


def test_k_center_greedy_spreads():
    v = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0], [5.0, 5.0]])
    assert k_center_greedy(v) == [0, 2, 3, 1]


def test_every_strategy_is_total_and_deterministic(cands):
    for s in STRATEGIES:
        a = rank(s, cands, seed=3)
        assert sorted(a) == [1, 2, 3, 4]
        assert a == rank(s, cands, seed=3)


def test_unknown_strategy():
    with pytest.raises(ValueError, match="unknown queue strategy"):
        rank("nope", [])


def test_queue_scores_descend():
    assert queue_scores([7, 3, 9]) == {7: 3.0, 3: 2.0, 9: 1.0}
