"""Inter-annotator agreement over plain data (no Django): strict mention/relation F1, Cohen's kappa and
Krippendorff's alpha on token labels, per-sentence disagreement.

Input is a mapping ``sentence id → SentenceLayers`` holding the sentence text and each layer's work (one
layer per annotator, and optionally ``"gold"``). Definitions:

- **mention F1** between two layers: mentions are ``(type, fragments)``; F1 = 2·|A∩B| / (|A|+|B|), the same
  whichever layer is taken as the reference. Summed over the sentences both layers annotated (micro).
- **relation F1**: relations are ``(head mention, tail mention, type)`` with whole mentions as ends, so a
  relation only agrees when both ends agree strictly too.
- **token labels** (for kappa and alpha): the sentence is cut at whitespace and at every fragment boundary of
  any layer's mention, so each token is either inside a fragment or outside it; a token's label is the type
  of the longest mention covering it (ties: type name), or ``"O"``.
- **Cohen's kappa** (scikit-learn) per pair of layers over their shared sentences' tokens; per label it is
  the kappa of the binary "this label / not this label" token decisions.
- **Krippendorff's alpha** (the ``krippendorff`` package, nominal) over every annotator layer and every
  token of the sentences at least two annotators did; a layer that did not do a sentence is missing data.
- a value that is undefined (no items, or every token has the same label for everyone, so chance agreement
  is total) is ``None``, not a number that would read as perfect or zero agreement.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

MentionKey = tuple[str, tuple[tuple[int, int], ...]]
RelationKey = tuple[MentionKey, MentionKey, str]
OUTSIDE = "O"
_NON_SPACE = re.compile(r"\S+")


@dataclass(frozen=True)
class Layer:
    """One layer's annotation of one sentence: mentions and relations (ends are indices into mentions)."""

    mentions: Sequence[tuple[str, Sequence[Sequence[int]]]] = ()
    relations: Sequence[tuple[int, int, str]] = ()

    def mention_set(self) -> set[MentionKey]:
        return {mention_key(t, f) for t, f in self.mentions}

    def relation_set(self) -> set[RelationKey]:
        keys = [mention_key(t, f) for t, f in self.mentions]
        return {(keys[h], keys[t], r) for h, t, r in self.relations}


@dataclass
class SentenceLayers:
    text: str
    layers: dict[str, Layer] = field(default_factory=dict)


def mention_key(type_: str, fragments: Iterable[Sequence[int]]) -> MentionKey:
    return (type_, tuple(sorted((int(s), int(e)) for s, e in fragments)))


def f1_counts(a: set, b: set) -> tuple[int, int, int]:
    """(matches, |a|, |b|)."""
    return len(a & b), len(a), len(b)


def f1_from(matches: int, n_a: int, n_b: int) -> float | None:
    """Dice/F1 = 2m / (|a|+|b|), in percent; None when both sets are empty."""
    if n_a + n_b == 0:
        return None
    return 100.0 * 2 * matches / (n_a + n_b)


def tokens(text: str, layers: Iterable[Layer]) -> list[tuple[int, int]]:
    """Whitespace tokens cut at every fragment boundary of every layer's mentions."""
    cuts = set()
    for layer in layers:
        for _, frags in layer.mentions:
            for s, e in frags:
                cuts.add(int(s))
                cuts.add(int(e))
    out: list[tuple[int, int]] = []
    for m in _NON_SPACE.finditer(text):
        points = [m.start()] + sorted(c for c in cuts if m.start() < c < m.end()) + [m.end()]
        out.extend((a, b) for a, b in zip(points, points[1:], strict=False) if b > a)
    return out


def token_labels(layer: Layer, toks: Sequence[tuple[int, int]]) -> list[str]:
    """Each token's label: the type of the longest mention whose fragments cover it, else ``"O"``."""
    covering: list[tuple[int, str, list[tuple[int, int]]]] = []
    for t, frags in layer.mentions:
        fr = [(int(s), int(e)) for s, e in frags]
        length = sum(e - s for s, e in fr)
        covering.append((-length, t, fr))
    covering.sort()
    labels = []
    for ts, te in toks:
        label = OUTSIDE
        for _, t, fr in covering:
            if any(s <= ts and te <= e for s, e in fr):
                label = t
                break
        labels.append(label)
    return labels


def cohen_kappa(a: Sequence[str | None], b: Sequence[str | None]) -> float | None:
    """Cohen's kappa (scikit-learn); None when undefined (no items, or chance agreement is total)."""
    if not a:
        return None
    if len(set(a) | set(b)) < 2:
        return None
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = float(cohen_kappa_score(list(a), list(b)))
    return None if math.isnan(k) else k


def krippendorff_alpha(rows: Sequence[Sequence[str | None]]) -> float | None:
    """Nominal Krippendorff's alpha of a coders × units matrix (``None`` = missing); None when undefined."""
    import numpy as np

    values = sorted({v for row in rows for v in row if v is not None})
    pairable = sum(1 for unit in zip(*rows, strict=True) if sum(v is not None for v in unit) >= 2) if rows else 0
    if len(values) < 2 or pairable == 0:
        return None
    import krippendorff

    index = {v: i for i, v in enumerate(values)}
    data = np.array([[np.nan if v is None else index[v] for v in row] for row in rows], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    return None if math.isnan(alpha) else alpha


def _binary(labels: Sequence[str | None], label: str) -> list[str | None]:
    return [None if v is None else ("yes" if v == label else "no") for v in labels]


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def pair_agreement(
    corpus: Mapping[Any, SentenceLayers], a: str, b: str, labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """Agreement of layers ``a`` and ``b`` over the sentences both annotated."""
    m = [0, 0, 0]
    r = [0, 0, 0]
    la: list[str] = []
    lb: list[str] = []
    shared = 0
    for s in corpus.values():
        if a not in s.layers or b not in s.layers:
            continue
        shared += 1
        A, B = s.layers[a], s.layers[b]
        for acc, counts in ((m, f1_counts(A.mention_set(), B.mention_set())),
                            (r, f1_counts(A.relation_set(), B.relation_set()))):
            for i in range(3):
                acc[i] += counts[i]
        toks = tokens(s.text, (A, B))
        la += token_labels(A, toks)
        lb += token_labels(B, toks)
    seen = sorted((set(la) | set(lb)) - {OUTSIDE}) if labels is None else list(labels)
    return {
        "a": a, "b": b, "sentences": shared, "tokens": len(la),
        "mention_f1": _round(f1_from(*m), 2), "mentions": {"matched": m[0], "a": m[1], "b": m[2]},
        "relation_f1": _round(f1_from(*r), 2), "relations": {"matched": r[0], "a": r[1], "b": r[2]},
        "kappa": _round(cohen_kappa(la, lb)),
        "kappa_per_label": {lab: _round(cohen_kappa(_binary(la, lab), _binary(lb, lab))) for lab in seen},
    }


def alpha_matrix(corpus: Mapping[Any, SentenceLayers], coders: Sequence[str]) -> list[list[str | None]]:
    """Coders × token units over the sentences at least two of ``coders`` annotated."""
    rows: list[list[str | None]] = [[] for _ in coders]
    for s in corpus.values():
        present = [c for c in coders if c in s.layers]
        if len(present) < 2:
            continue
        toks = tokens(s.text, (s.layers[c] for c in present))
        for i, c in enumerate(coders):
            rows[i] += token_labels(s.layers[c], toks) if c in s.layers else [None] * len(toks)
    return rows


def sentence_disagreement(s: SentenceLayers, coders: Sequence[str]) -> dict[str, Any] | None:
    """How much the annotators of one sentence disagree: the mentions and relations not everyone made
    (union minus intersection), and the mean pairwise mention F1. None with fewer than two of them."""
    present = [c for c in coders if c in s.layers]
    if len(present) < 2:
        return None
    ms = [s.layers[c].mention_set() for c in present]
    rs = [s.layers[c].relation_set() for c in present]
    m_diff = len(set().union(*ms) - ms[0].intersection(*ms[1:]))
    r_diff = len(set().union(*rs) - rs[0].intersection(*rs[1:]))
    f1s = [f1_from(*f1_counts(x, y)) for x, y in combinations(ms, 2)]
    defined = [f for f in f1s if f is not None]
    return {
        "annotators": present, "mentions_disputed": m_diff, "relations_disputed": r_diff,
        "mean_mention_f1": _round(sum(defined) / len(defined), 2) if defined else None,
    }


def agreement_report(
    corpus: Mapping[Any, SentenceLayers], *, gold: str = "gold", top: int = 10
) -> dict[str, Any]:
    """Everything the dashboard shows: pairwise figures, alpha (overall and per label), each annotator
    against gold, and the ``top`` sentences with the most disputed mentions and relations."""
    coders = sorted({name for s in corpus.values() for name in s.layers if name != gold})
    pairs = [pair_agreement(corpus, a, b) for a, b in combinations(coders, 2)]
    pairs = [p for p in pairs if p["sentences"]]
    rows = alpha_matrix(corpus, coders)
    label_counts = Counter(v for row in rows for v in row if v not in (None, OUTSIDE))
    labels = sorted(label_counts)
    vs_gold = [pair_agreement(corpus, c, gold) for c in coders]
    vs_gold = [p for p in vs_gold if p["sentences"]]
    disputed = []
    for sid, s in corpus.items():
        d = sentence_disagreement(s, coders)
        if d is not None and (d["mentions_disputed"] or d["relations_disputed"]):
            disputed.append({"sentence": sid, "text": s.text, **d})
    disputed.sort(key=lambda d: (-(d["mentions_disputed"] + d["relations_disputed"]),
                                 d["mean_mention_f1"] if d["mean_mention_f1"] is not None else 101,
                                 str(d["sentence"])))
    shared = sum(1 for s in corpus.values() if sum(c in s.layers for c in coders) >= 2)
    return {
        "annotators": coders,
        "shared_sentences": shared,
        "pairs": pairs,
        "alpha": _round(krippendorff_alpha(rows)),
        "alpha_per_label": {lab: _round(krippendorff_alpha([_binary(r, lab) for r in rows])) for lab in labels},
        "label_tokens": dict(label_counts),
        "vs_gold": vs_gold,
        "most_disputed": disputed[:top],
    }
