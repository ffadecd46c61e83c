"""Agreement figures against cases worked out by hand (see the comments for the arithmetic)."""

import pytest

from annotation.loop.agreement import (
    Layer,
    SentenceLayers,
    agreement_report,
    cohen_kappa,
    krippendorff_alpha,
    pair_agreement,
    token_labels,
    tokens,
)

# s1 "HbA1c above 7 %": ann1 has Value "7 %" (12-15), ann2 only "7" (12-13); both Has_value(HbA1c, Value).
# s2 "No diabetes": both Condition "diabetes".
ANN1_S1 = Layer(mentions=[("Measurement", [[0, 5]]), ("Value", [[12, 15]])], relations=[(0, 1, "Has_value")])
ANN2_S1 = Layer(mentions=[("Measurement", [[0, 5]]), ("Value", [[12, 13]])], relations=[(0, 1, "Has_value")])
COND = Layer(mentions=[("Condition", [[3, 11]])])


def corpus(with_gold: bool = False):
    s1 = SentenceLayers("HbA1c above 7 %", {"ann1": ANN1_S1, "ann2": ANN2_S1})
    if with_gold:
        s1.layers["gold"] = ANN1_S1
    return {1: s1, 2: SentenceLayers("No diabetes", {"ann1": COND, "ann2": COND})}


def test_tokens_and_labels():
    toks = tokens("HbA1c above 7 %", [ANN1_S1, ANN2_S1])
    assert toks == [(0, 5), (6, 11), (12, 13), (14, 15)]
    assert token_labels(ANN1_S1, toks) == ["Measurement", "O", "Value", "Value"]
    assert token_labels(ANN2_S1, toks) == ["Measurement", "O", "Value", "O"]
    # a fragment boundary inside a word cuts the word
    assert tokens("diabetic", [Layer(mentions=[("C", [[0, 4]])])]) == [(0, 4), (4, 8)]
    # nested: the longest covering mention gives the label; discontinuous fragments each cover
    nested = Layer(mentions=[("Inner", [[0, 3]]), ("Outer", [[0, 8]]), ("Gap", [[10, 11], [13, 14]])])
    toks = tokens("abc defgh i jk l", [nested])
    assert toks == [(0, 3), (4, 8), (8, 9), (10, 11), (12, 13), (13, 14), (15, 16)]
    assert token_labels(nested, toks) == ["Outer", "Outer", "O", "Gap", "O", "Gap", "O"]


def test_pairwise_f1_kappa_by_hand():
    p = pair_agreement(corpus(), "ann1", "ann2")
    assert p["sentences"] == 2 and p["tokens"] == 6
    # mentions: 2 matched, 3 and 3 made -> 2*2/6
    assert p["mention_f1"] == pytest.approx(66.67)
    # relations: the Has_value ends differ (7 % vs 7) -> none match
    assert p["relation_f1"] == 0.0
    # labels A: M O V V O C, B: M O V O O C; po = 5/6, pe = (1*1+2*3+2*1+1*1)/36 = 10/36 -> 20/26
    assert p["kappa"] == pytest.approx(20 / 26, abs=1e-4)
    # Value vs not: A n n y y n n, B n n y n n n; pe = (2*1+4*5)/36 -> (30-22)/(36-22) = 8/14
    assert p["kappa_per_label"]["Value"] == pytest.approx(8 / 14, abs=1e-4)
    assert p["kappa_per_label"]["Measurement"] == 1.0
    assert p["kappa_per_label"]["Condition"] == 1.0


def test_report_alpha_gold_and_disputes_by_hand():
    r = agreement_report(corpus(with_gold=True))
    assert r["annotators"] == ["ann1", "ann2"] and r["shared_sentences"] == 2
    # 12 values: M2 O5 V3 C2; one disagreeing unit (V, O) -> Do = 2/12, De = (144-42)/132
    assert r["alpha"] == pytest.approx(1 - (2 / 12) / (102 / 132), abs=1e-4)
    # Value vs not: y3 n9 -> De = (144-90)/132
    assert r["alpha_per_label"]["Value"] == pytest.approx(1 - (2 / 12) / (54 / 132), abs=1e-4)
    assert r["alpha_per_label"]["Condition"] == 1.0
    gold = {p["a"]: p for p in r["vs_gold"]}
    assert gold["ann1"]["sentences"] == 1 and gold["ann1"]["mention_f1"] == 100.0
    assert gold["ann1"]["relation_f1"] == 100.0
    assert gold["ann2"]["mention_f1"] == 50.0 and gold["ann2"]["relation_f1"] == 0.0
    # s1: union {M, V12-15, V12-13} minus {M} -> 2 mentions, 2 relations disputed; s2 agrees fully
    assert [d["sentence"] for d in r["most_disputed"]] == [1]
    d = r["most_disputed"][0]
    assert (d["mentions_disputed"], d["relations_disputed"], d["mean_mention_f1"]) == (2, 2, 50.0)


def test_alpha_with_missing_values_by_hand():
    # units (a,a) (a,b,b) (b,b): o_aa=2, o_ab=o_ba=1, o_bb=3; n_a=3, n_b=4 -> 1 - (2/7)/(24/42) = 0.5
    rows = [["a", "a", "b"], ["a", "b", None], [None, "b", "b"]]
    assert krippendorff_alpha(rows) == pytest.approx(0.5)


def test_undefined_figures_are_none_not_perfect():
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["O", "O"], ["O", "O"]) is None
    assert krippendorff_alpha([["O", "O"], ["O", "O"]]) is None
    assert krippendorff_alpha([["a", None], [None, "b"]]) is None  # no unit with two values
    empty = {1: SentenceLayers("x", {"ann1": Layer(), "ann2": Layer()})}
    p = pair_agreement(empty, "ann1", "ann2")
    assert p["mention_f1"] is None and p["relation_f1"] is None and p["kappa"] is None


def test_sentence_done_by_one_annotator_is_not_shared():
    c = corpus()
    c[3] = SentenceLayers("Pregnancy", {"ann1": Layer(mentions=[("Condition", [[0, 9]])])})
    r = agreement_report(c)
    assert r["shared_sentences"] == 2
    assert r["pairs"][0]["sentences"] == 2
