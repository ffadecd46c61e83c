"""Metrics against hand-computed cases."""

import pytest

from mlcore.metrics import calibration_report, evaluate, expected_calibration_error
from mlcore.types import Example, Mention, Prediction, Relation, RelationTypeSpec, Schema

SCHEMA = Schema(["A", "B"], [RelationTypeSpec("R"), RelationTypeSpec("S", symmetric=True)])


def ex(mentions, relations=()):
    return Example(
        text="x" * 50, mentions=[Mention(*m) for m in mentions], relations=[Relation(*r) for r in relations]
    )


def test_entities_strict_micro_macro_per_type():
    gold = [ex([(0, 3, "A"), (4, 6, "B"), (7, 9, "A")])]
    # one exact hit (A), one wrong type (B span typed A), one wrong boundary (A), one extra B
    pred = [ex([(0, 3, "A"), (4, 6, "A"), (7, 10, "A"), (20, 22, "B")])]
    rep = evaluate(gold, pred, SCHEMA)["entities"]
    assert rep["micro"]["precision"] == pytest.approx(25.0)
    assert rep["micro"]["recall"] == pytest.approx(100 / 3)
    assert rep["micro"]["f1"] == pytest.approx(2 * 0.25 * (1 / 3) / (0.25 + 1 / 3) * 100)
    # A: tp 1, pred 3, gold 2 -> P 1/3 R 1/2 F 0.4; B: tp 0 -> F 0
    assert rep["per_type"]["A"]["f1"] == pytest.approx(40.0)
    assert rep["per_type"]["B"]["f1"] == 0.0
    assert rep["macro"]["f1"] == pytest.approx(20.0)


def test_duplicates_count_once_and_nested_mentions_are_separate():
    gold = [ex([(0, 10, "A"), (0, 10, "A"), (2, 5, "B")])]  # duplicate + nested
    pred = [ex([(0, 10, "A"), (2, 5, "B"), (2, 5, "B")])]
    rep = evaluate(gold, pred, SCHEMA)["entities"]["micro"]
    assert (rep["support"], rep["predicted"], rep["f1"]) == (2, 2, 100.0)


def test_relations_symmetric_order_free_directed_not():
    ms = [(0, 3, "A"), (5, 8, "B"), (10, 12, "A")]
    gold = [ex(ms, [(0, 1, "R"), (0, 2, "S")])]
    pred = [ex(ms, [(1, 0, "R"), (2, 0, "S")])]  # R reversed is wrong, S reversed is right
    rep = evaluate(gold, pred, SCHEMA)
    assert rep["relations"]["micro"]["precision"] == 50.0
    assert rep["relations"]["per_type"]["S"]["f1"] == 100.0
    assert rep["relations"]["per_type"]["R"]["f1"] == 0.0


def test_relation_needs_argument_types_strict_but_not_by_boundaries():
    gold = [ex([(0, 3, "A"), (5, 8, "B")], [(0, 1, "R")])]
    pred = [ex([(0, 3, "B"), (5, 8, "B")], [(0, 1, "R")])]  # head typed wrongly
    rep = evaluate(gold, pred, SCHEMA)
    assert rep["relations"]["micro"]["f1"] == 0.0
    assert rep["relations_boundaries"]["micro"]["f1"] == 100.0


def test_relations_with_duplicate_mentions_and_given_gold():
    gold = [ex([(0, 3, "A"), (5, 8, "B")], [(0, 1, "R"), (0, 1, "R")])]
    # prediction refers to a duplicated mention: still the same (span, type) relation
    pred = [ex([(0, 3, "A"), (0, 3, "A"), (5, 8, "B")], [(1, 2, "R")])]
    rep = evaluate(gold, pred, SCHEMA, pred_given_gold_entities=[Prediction("", "", gold[0].mentions, [])])
    assert rep["relations"]["micro"]["support"] == 1
    assert rep["relations"]["micro"]["f1"] == 100.0
    assert rep["relations_given_gold_entities"]["micro"]["recall"] == 0.0


def test_empty_and_length_mismatch():
    rep = evaluate([ex([])], [ex([])], SCHEMA)
    assert rep["entities"]["micro"]["f1"] == 0.0 and rep["entities"]["macro"]["f1"] == 0.0
    with pytest.raises(ValueError):
        evaluate([ex([])], [], SCHEMA)


def test_ece():
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    # bin 0.85 holds two items, accuracy 0.5 -> |0.5 - 0.85| = 0.35
    assert expected_calibration_error([0.85, 0.85], [True, False]) == pytest.approx(0.35)
    gold = [ex([(0, 3, "A")])]
    pred = [ex([(0, 3, "A"), (4, 5, "B")])]
    pred[0].mentions[0].score = 0.9
    pred[0].mentions[1].score = 0.9
    assert calibration_report(gold, pred, SCHEMA)["entity_ece"] == pytest.approx(40.0)


def test_reliability_bins_by_hand():
    from mlcore.metrics import reliability_bins

    # 0.95 (right), 0.91 (wrong) -> bin 9: count 2, mean confidence 0.93, accuracy 0.5;
    # 0.15 (wrong) -> bin 1; 1.0 falls in the last bin
    bins = reliability_bins([0.95, 0.91, 0.15, 1.0], [True, False, False, True], n_bins=10)
    assert len(bins) == 10
    assert bins[9]["count"] == 3
    assert bins[9]["confidence"] == pytest.approx((0.95 + 0.91 + 1.0) / 3)
    assert bins[9]["accuracy"] == pytest.approx(2 / 3)
    assert (bins[1]["count"], bins[1]["accuracy"]) == (1, 0.0)
    assert bins[0] == {"lo": 0.0, "hi": 0.1, "count": 0, "confidence": None, "accuracy": None}
    # the ECE is the count-weighted gap of these bins
    ece = sum(b["count"] / 4 * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"])
    assert ece == pytest.approx(expected_calibration_error([0.95, 0.91, 0.15, 1.0], [True, False, False, True]))
    gold = [ex([(0, 3, "A")])]
    pred = [ex([(0, 3, "A"), (4, 5, "B")])]
    pred[0].mentions[0].score = 0.9
    pred[0].mentions[1].score = 0.9
    report = calibration_report(gold, pred, SCHEMA)
    assert report["entity_bins"][9] == {"lo": 0.9, "hi": 1.0, "count": 2, "confidence": 0.9, "accuracy": 0.5}
