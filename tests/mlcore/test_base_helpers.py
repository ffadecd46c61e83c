"""The prediction-assembly helpers every tagging architecture shares."""

import pytest
import torch

from mlcore.archs.base import finish_uncertainty, item_uncertainty, items_by_doc, relations_by_doc


def test_relations_by_doc_orders_symmetric_arguments_and_keeps_the_best_duplicate():
    ents = [[(0, 1, 0), (2, 3, 0), (4, 5, 1)], [(0, 2, 1), (3, 4, 0)]]
    sym = [False, True]  # type 1 is symmetric
    triples = [
        (0, 1, 0, 1, 0.4),  # symmetric, arguments out of text order -> (0, 1)
        (0, 0, 1, 1, 0.7),  # the same relation the other way round: one row, the best score
        (0, 2, 0, 0, 0.5),  # directed: kept as given
        (1, 1, 0, 0, 0.9),
    ]
    assert relations_by_doc(2, triples, ents, sym) == [
        [(0, 1, 1, 0.7), (2, 0, 0, 0.5)],
        [(1, 0, 0, 0.9)],
    ]


def test_item_uncertainty_uses_each_docs_own_items():
    assert items_by_doc([1, 0, 1]) == {1: [0, 2], 0: [1]}
    u = {"lc": torch.tensor([0.1, 0.5, 0.3]), "margin": torch.tensor([0.9, 0.2, 0.6]),
         "entropy": torch.tensor([0.2, 1.0, 0.4])}
    doc1 = item_uncertainty(u, torch.tensor([0.05, 0.0, 0.15]), [0, 2], n_words=4)
    assert doc1["relation_lc_max"] == pytest.approx(0.3) and doc1["relation_margin_min"] == pytest.approx(0.6)
    assert doc1["relation_entropy_norm"] == pytest.approx(0.6 / 4)
    assert doc1["relation_bald_norm"] == pytest.approx(0.2 / 4)
    none = item_uncertainty(u, None, [], n_words=4)
    assert none["relation_lc_max"] == 0.0 and none["relation_margin_min"] == 1.0
    done = finish_uncertainty({"entity_entropy_norm": 0.5, **doc1}, mc_samples=2)
    assert done["score"] == pytest.approx(0.5 + 0.15) and done["bald"] == pytest.approx(0.05)
