"""Shared pieces of the joint models: encoding, word pooling, heads, uncertainty helpers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..alignment import Doc
from ..encoder import WindowedEncoder
from ..pooling import RangeMax, words_from_wordpieces
from ..types import Schema


class FFNN(nn.Module):
    """Dropout -> [Linear -> GELU -> dropout] -> Linear; ``mc=True`` keeps dropout on at inference."""

    def __init__(self, d_in: int, d_out: int, hidden: int = 0, dropout: float = 0.1):
        super().__init__()
        self.p = dropout
        self.hidden = nn.Linear(d_in, hidden) if hidden else None
        self.out = nn.Linear(hidden or d_in, d_out)

    def forward(self, x: torch.Tensor, mc: bool = False) -> torch.Tensor:
        drop = self.training or mc
        x = F.dropout(x, self.p, drop)
        if self.hidden is not None:
            x = F.dropout(F.gelu(self.hidden(x)), self.p, drop)
        return self.out(x)


@dataclass
class Encoded:
    """Encoder output for a batch of docs."""

    hidden: torch.Tensor  # [B, T, H] wordpiece states (zeros on padding)
    mask: torch.Tensor  # [B, T] bool
    cls: torch.Tensor  # [B, H]
    words: torch.Tensor  # [B, N, H] max-pooled word states
    n_words: list[int]
    ranges: RangeMax  # range-max queries over words


@dataclass
class RawPrediction:
    """Token-level prediction for one doc (converted to character offsets by the API)."""

    ents: list[tuple[int, int, int, float]] = field(default_factory=list)  # (ws, we, type idx, score)
    rels: list[tuple[int, int, int, float]] = field(
        default_factory=list
    )  # (head ent, tail ent, rel idx, score)
    uncertainty: dict[str, float] = field(default_factory=dict)
    embedding: list[float] | None = None
    calibration: dict[str, Any] | None = None


class JointModel(nn.Module):
    """Base class: an encoder plus architecture-specific heads."""

    allowed: torch.Tensor  # registered buffer, set in __init__

    def __init__(self, schema: Schema, encoder: WindowedEncoder):
        super().__init__()
        self.schema = schema
        self.encoder = encoder
        self.n_ent = len(schema.entity_types)
        self.n_rel = len(schema.relation_types)
        self.sym = torch.tensor([r.symmetric for r in schema.relation_types], dtype=torch.bool)
        # allowed[h, t, r]: relation type r may link an entity of type h to one of type t
        allowed = torch.ones((self.n_ent, self.n_ent, max(1, self.n_rel)), dtype=torch.bool)
        for ri, spec in enumerate(schema.relation_types):
            for hi, ht in enumerate(schema.entity_types):
                for ti, tt in enumerate(schema.entity_types):
                    allowed[hi, ti, ri] = spec.allows(ht, tt)
        self.register_buffer("allowed", allowed, persistent=False)
        # temperature scaling (fitted on dev after training; 1.0 = uncalibrated)
        self.entity_temperature = 1.0
        self.relation_temperature = 1.0

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, docs: list[Doc]) -> Encoded:
        hidden, mask, cls = self.encoder([d.wp_ids for d in docs])
        n_words = [d.n_words for d in docs]
        n_max = max(1, max(n_words))
        wp_word = torch.full(mask.shape, n_max, dtype=torch.long)
        for b, d in enumerate(docs):
            if d.wp_word:
                wp_word[b, : len(d.wp_word)] = torch.tensor(d.wp_word, dtype=torch.long)
        words = words_from_wordpieces(hidden, wp_word.to(hidden.device), n_max)  # [B, N, H]
        return Encoded(hidden, mask, cls, words, n_words, RangeMax(words))

    @staticmethod
    def sentence_embeddings(enc: Encoded) -> torch.Tensor:
        """Mean of wordpiece states: [B, H]."""
        m = enc.mask.unsqueeze(-1).to(enc.hidden.dtype)
        return (enc.hidden * m).sum(1) / m.sum(1).clamp(min=1.0)

    # Subclasses implement these.
    def loss(self, docs: list[Doc], rng, rel_weight: float = 1.0) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def predict_docs(
        self, docs: list[Doc], *, gold_entities: bool = False, mc_samples: int = 0, calibration: bool = False
    ) -> list[RawPrediction]:
        raise NotImplementedError


def categorical_uncertainty(probs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-row least confidence, margin and entropy of categorical distributions [S, C]."""
    top = probs.topk(min(2, probs.shape[-1]), dim=-1).values
    second = top[:, 1] if top.shape[1] > 1 else torch.zeros_like(top[:, 0])
    ent = -(probs * probs.clamp_min(1e-12).log()).sum(-1)
    return {"lc": 1 - top[:, 0], "margin": top[:, 0] - second, "entropy": ent}


def binary_uncertainty(p: torch.Tensor) -> dict[str, torch.Tensor]:
    """Element-wise least confidence, margin and entropy of Bernoulli probabilities."""
    q = 1 - p
    ent = -(p * p.clamp_min(1e-12).log() + q * q.clamp_min(1e-12).log())
    return {"lc": torch.minimum(p, q), "margin": (p - q).abs(), "entropy": ent}


def summarise_uncertainty(prefix: str, u: dict[str, torch.Tensor] | None, n_words: int) -> dict[str, float]:
    """Sentence-level signals: worst item (max LC, min margin) and length-normalised sums."""
    norm = max(1, n_words)
    if u is None or u["lc"].numel() == 0:
        return {
            f"{prefix}_lc_max": 0.0,
            f"{prefix}_margin_min": 1.0,
            f"{prefix}_lc_norm": 0.0,
            f"{prefix}_entropy_norm": 0.0,
        }
    return {
        f"{prefix}_lc_max": float(u["lc"].max()),
        f"{prefix}_margin_min": float(u["margin"].min()),
        f"{prefix}_lc_norm": float(u["lc"].sum()) / norm,
        f"{prefix}_entropy_norm": float(u["entropy"].sum()) / norm,
    }


def bald_categorical(samples: torch.Tensor) -> torch.Tensor:
    """BALD mutual information per row from MC samples [K, S, C] -> [S]."""
    mean = samples.mean(0)
    h_mean = -(mean * mean.clamp_min(1e-12).log()).sum(-1)
    h_each = -(samples * samples.clamp_min(1e-12).log()).sum(-1).mean(0)
    return (h_mean - h_each).clamp_min(0.0)


def bald_binary(samples: torch.Tensor) -> torch.Tensor:
    """BALD per element from MC Bernoulli samples [K, ...] -> [...]."""

    def h(p: torch.Tensor) -> torch.Tensor:
        q = 1 - p
        return -(p * p.clamp_min(1e-12).log() + q * q.clamp_min(1e-12).log())

    return (h(samples.mean(0)) - h(samples).mean(0)).clamp_min(0.0)


# ---- assembling predictions (shared by the tagging architectures) ----------------------------------------
def relations_by_doc(
    n_docs: int,
    triples: Iterable[tuple[int, int, int, int, float]],
    ents: Sequence[Sequence[tuple[int, int, int]]],
    sym: Sequence[bool],
) -> list[list[tuple[int, int, int, float]]]:
    """Per doc, sorted ``(head, tail, type, score)`` from ``(doc, head, tail, type, score)`` triples over
    entity indices: a symmetric type's arguments in text order, duplicates kept once with the best score."""
    best: list[dict[tuple[int, int, int], float]] = [{} for _ in range(n_docs)]
    for b, a, c, r, score in triples:
        if sym[r] and ents[b][c] < ents[b][a]:
            a, c = c, a
        best[b][(a, c, r)] = max(score, best[b].get((a, c, r), 0.0))
    return [[(a, c, r, s) for (a, c, r), s in sorted(d.items())] for d in best]


def softmax_relations(
    rel_logits: torch.Tensor,
    rel_probs: torch.Tensor,
    pairs: tuple[list[int], list[int], list[int]],
    ent_raw: Sequence[Sequence[float]],
    ents: Sequence[Sequence[tuple[int, int, int]]],
    sym: Sequence[bool],
) -> tuple[list[int], list[float], list[list[tuple[int, int, int, float]]]]:
    """Relations of a softmax head over NEG (index 0) + types for candidate ``pairs`` (doc, head, tail
    entity indices): the argmax class of each pair, kept when it is not NEG, scored
    P(rel | args) * P(head) * P(tail) (see mlcore.calibration). Returns (argmax per pair, P(head) * P(tail)
    per pair, :func:`relations_by_doc` of the kept triples)."""
    pb, pi, pj = pairs
    pred = rel_logits.argmax(-1).tolist()
    arg_prob = [ent_raw[b][i] * ent_raw[b][j] for b, i, j in zip(pb, pi, pj, strict=True)]
    triples = (
        (b, i, j, pred[p] - 1, float(rel_probs[p, pred[p]]) * arg_prob[p])
        for p, (b, i, j) in enumerate(zip(pb, pi, pj, strict=True))
        if pred[p] > 0
    )
    return pred, arg_prob, relations_by_doc(len(ents), triples, ents, sym)


def items_by_doc(doc_of_item: Iterable[int]) -> dict[int, list[int]]:
    """Indices of the items (pairs, or allowed (pair, type) cells) of each doc."""
    out: dict[int, list[int]] = defaultdict(list)
    for i, b in enumerate(doc_of_item):
        out[b].append(i)
    return out


def word_uncertainty(
    tag_u: dict[str, torch.Tensor], tag_bald: torch.Tensor | None, b: int, n_max: int, n_words: int
) -> dict[str, float]:
    """Entity signals of doc ``b`` from its words' tag distributions: ``tag_u`` rows are ``b * n_max + word``
    (flattened [B, N]); ``tag_bald`` is [B, N] or None."""
    rows = torch.arange(n_words, device=next(iter(tag_u.values())).device) + b * n_max
    unc = summarise_uncertainty("entity", {k: v[rows] for k, v in tag_u.items()}, n_words)
    if tag_bald is not None:
        unc["entity_bald_norm"] = float(tag_bald[b, :n_words].sum()) / max(1, n_words)
    return unc


def item_uncertainty(
    rel_u: dict[str, torch.Tensor] | None, rel_bald: torch.Tensor | None, items: list[int], n_words: int
) -> dict[str, float]:
    """Relation signals over a doc's ``items`` (indices into the [I] tensors of ``rel_u`` / ``rel_bald``)."""
    if not items or rel_u is None:
        return summarise_uncertainty("relation", None, n_words)
    idx = torch.tensor(items, dtype=torch.long, device=next(iter(rel_u.values())).device)
    unc = summarise_uncertainty("relation", {k: v[idx] for k, v in rel_u.items()}, n_words)
    if rel_bald is not None:
        unc["relation_bald_norm"] = float(rel_bald[idx].sum()) / max(1, n_words)
    return unc


def finish_uncertainty(unc: dict[str, float], mc_samples: int) -> dict[str, float]:
    """Adds the sentence-level ``bald`` (with MC samples) and ``score`` (joint entropy) signals."""
    if mc_samples:
        unc["bald"] = unc.get("entity_bald_norm", 0.0) + unc.get("relation_bald_norm", 0.0)
    unc["score"] = unc.get("entity_entropy_norm", 0.0) + unc.get("relation_entropy_norm", 0.0)
    return unc


def gold_relation_sets(docs: Sequence[Doc], sym: Sequence[bool]) -> list[set[tuple[Any, Any, int]]]:
    """Per doc, its gold relations as ``(head entity, tail entity, type)``, symmetric ones both ways."""
    return [
        {(d.ents[h], d.ents[t], r) for h, t, r in d.rels}
        | {(d.ents[t], d.ents[h], r) for h, t, r in d.rels if sym[r]}
        for d in docs
    ]


def softmax_relation_calibration(
    docs: Sequence[Doc],
    sym: Sequence[bool],
    rel_logits: torch.Tensor,
    pred: Sequence[int],
    arg_prob: Sequence[float],
    pairs: tuple[Sequence[int], Sequence[int], Sequence[int]],
    ents: Sequence[Sequence[tuple[int, int, int]]],
) -> dict[str, torch.Tensor]:
    """Calibration data of a softmax relation head with NEG at index 0, over the pairs it output a relation
    for: their logits [H, n_rel + 1], the chosen index, the arguments' probabilities and whether the triple
    is gold (see :func:`mlcore.calibration.fit_relation_temperature`). ``pairs`` = (doc, head, tail) lists."""
    pb, pi, pj = pairs
    gold = gold_relation_sets(docs, sym)
    hit = [p for p in range(len(pb)) if pred[p] > 0]
    return {
        "relation_logits": rel_logits[hit].cpu(),
        "relation_index": torch.tensor([pred[p] for p in hit], dtype=torch.long),
        "relation_arg_probs": torch.tensor([arg_prob[p] for p in hit]),
        "relation_labels": torch.tensor(
            [(ents[pb[p]][pi[p]], ents[pb[p]][pj[p]], pred[p] - 1) in gold[pb[p]] for p in hit],
            dtype=torch.bool,
        ),
    }
