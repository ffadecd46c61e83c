"""Strict entity and relation metrics (micro, macro, per type) and calibration error.

- entities: a predicted mention counts when span and type equal a gold mention (duplicates count once);
- relations end-to-end: both arguments' span and type and the relation type match; for symmetric
  relation types the argument order is ignored;
- relations by boundaries: as end-to-end but argument entity types are ignored;
- relations given gold entities: end-to-end scoring of predictions made with the gold mentions given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .types import Example, Prediction, Schema


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": 100 * p, "recall": 100 * r, "f1": 100 * f, "support": n_gold, "predicted": n_pred}


def _score_sets(gold: list[set], pred: list[set], type_of, types: Sequence[str]) -> dict[str, Any]:
    tp: Counter[str] = Counter()
    ng: Counter[str] = Counter()
    npred: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        for item in g:
            ng[type_of(item)] += 1
        for item in p:
            npred[type_of(item)] += 1
            if item in g:
                tp[type_of(item)] += 1
    all_types = list(types) + sorted((set(ng) | set(npred)) - set(types))
    per_type = {t: _prf(tp[t], npred[t], ng[t]) for t in all_types}
    micro = _prf(sum(tp.values()), sum(npred.values()), sum(ng.values()))
    # macro over types that occur in gold or predictions (as SpERT/sklearn with observed labels)
    seen = [t for t in all_types if ng[t] or npred[t]]
    macro = {
        k: (sum(per_type[t][k] for t in seen) / len(seen) if seen else 0.0)
        for k in ("precision", "recall", "f1")
    }
    return {"micro": micro, "macro": macro, "per_type": per_type}


def _mentions(ex: Example | Prediction) -> list[tuple[int, int, str]]:
    return [(m.start, m.end, m.type) for m in ex.mentions]


def _relation_set(ex: Example | Prediction, symmetric: set[str], with_types: bool) -> set:
    ms = _mentions(ex)
    out = set()
    for r in ex.relations:
        h: tuple[int | str, ...] = ms[r.head]
        t: tuple[int | str, ...] = ms[r.tail]
        if not with_types:
            h, t = h[:2], t[:2]
        if r.type in symmetric and t < h:
            h, t = t, h
        out.add((h, t, r.type))
    return out


def evaluate(
    gold: Sequence[Example],
    pred: Sequence[Example | Prediction],
    schema: Schema,
    *,
    pred_given_gold_entities: Sequence[Example | Prediction] | None = None,
) -> dict[str, Any]:
    """Strict P/R/F1 report (percentages) for aligned lists of gold and predicted sentences."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predictions")
    sym = schema.symmetric_relations
    g_ent = [set(_mentions(g)) for g in gold]
    p_ent = [set(_mentions(p)) for p in pred]
    report: dict[str, Any] = {"sentences": len(gold)}
    report["entities"] = _score_sets(g_ent, p_ent, lambda x: x[2], schema.entity_types)
    rtypes = schema.relation_names
    report["relations"] = _score_sets(
        [_relation_set(g, sym, True) for g in gold],
        [_relation_set(p, sym, True) for p in pred],
        lambda x: x[2],
        rtypes,
    )
    report["relations_boundaries"] = _score_sets(
        [_relation_set(g, sym, False) for g in gold],
        [_relation_set(p, sym, False) for p in pred],
        lambda x: x[2],
        rtypes,
    )
    if pred_given_gold_entities is not None:
        if len(pred_given_gold_entities) != len(gold):
            raise ValueError("pred_given_gold_entities must align with gold")
        report["relations_given_gold_entities"] = _score_sets(
            [_relation_set(g, sym, True) for g in gold],
            [_relation_set(p, sym, True) for p in pred_given_gold_entities],
            lambda x: x[2],
            rtypes,
        )
    return report


def expected_calibration_error(
    confidences: Iterable[float], correct: Iterable[bool], n_bins: int = 10
) -> float:
    """ECE with equal-width confidence bins (0..1), weighted by bin size."""
    conf = list(confidences)
    corr = [bool(c) for c in correct]
    if not conf:
        return 0.0
    bins: list[list[int]] = [[] for _ in range(n_bins)]
    for i, c in enumerate(conf):
        bins[min(n_bins - 1, max(0, int(c * n_bins)))].append(i)
    total = 0.0
    for idx in bins:
        if idx:
            acc = sum(corr[i] for i in idx) / len(idx)
            avg = sum(conf[i] for i in idx) / len(idx)
            total += len(idx) / len(conf) * abs(acc - avg)
    return total


def reliability_bins(confidences: Iterable[float], correct: Iterable[bool], n_bins: int = 10) -> list[dict]:
    """Equal-width confidence bins (the same as :func:`expected_calibration_error`) for a reliability
    diagram: ``[{"lo", "hi", "count", "confidence" (mean), "accuracy"}]``; empty bins have count 0 and
    None for the means."""
    conf = list(confidences)
    corr = [bool(c) for c in correct]
    sums = [[0, 0.0, 0] for _ in range(n_bins)]  # count, sum of confidences, number correct
    for c, ok in zip(conf, corr, strict=True):
        b = sums[min(n_bins - 1, max(0, int(c * n_bins)))]
        b[0] += 1
        b[1] += c
        b[2] += ok
    return [
        {"lo": i / n_bins, "hi": (i + 1) / n_bins, "count": n,
         "confidence": s / n if n else None, "accuracy": k / n if n else None}
        for i, (n, s, k) in enumerate(sums)
    ]


def calibration_report(gold: Sequence[Example], pred: Sequence[Example | Prediction], schema: Schema) -> dict:
    """ECE of mention scores (correct = strict match) and relation scores (correct = strict e2e match)."""
    sym = schema.symmetric_relations
    e_conf, e_ok, r_conf, r_ok = [], [], [], []
    for g, p in zip(gold, pred, strict=True):
        gm = set(_mentions(g))
        for m in p.mentions:
            e_conf.append(m.score)
            e_ok.append((m.start, m.end, m.type) in gm)
        gr = _relation_set(g, sym, True)
        pm = _mentions(p)
        for r in p.relations:
            h, t = pm[r.head], pm[r.tail]
            if r.type in sym and t < h:
                h, t = t, h
            r_conf.append(r.score)
            r_ok.append((h, t, r.type) in gr)
    return {
        "entity_ece": 100 * expected_calibration_error(e_conf, e_ok),
        "relation_ece": 100 * expected_calibration_error(r_conf, r_ok),
        "entity_predictions": len(e_conf),
        "relation_predictions": len(r_conf),
        # the reliability diagram's bins (the dashboard plots them)
        "entity_bins": reliability_bins(e_conf, e_ok),
        "relation_bins": reliability_bins(r_conf, r_ok),
    }
