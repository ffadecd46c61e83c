"""``focus.v1``: shared lower layers, task-specific top layers and focused attention for relations
(after Xue et al., 2019, "Fine-tuning BERT for joint entity and relation extraction in Chinese medical
text": the STR-encoder with focused attention).

The encoder's N layers are split: the first N - K run once per sentence with full attention (shared);
the last K (``task_layers``) run once per task. The NER branch keeps the encoder's own top K layers (so
the encoder module stays a complete, unmodified BERT and ``JointModel.encode`` still yields NER-branch
states); the RE branch gets deep copies of them made at construction, so both start from the same
pretrained weights and are trained separately. The copies live under ``encoder.re_layers`` so the
training loop gives them the encoder learning rate.

NER: full attention in its K layers, words max-pooled from wordpieces, a linear layer into BIO(ES)
emissions and a linear-chain CRF (``tagger.v1``'s :class:`CRF` and tag codec), Viterbi decoding.
Nested/overlapping gold mentions cannot all be tagged, so the tagging loss uses tagger's
:func:`reduce_nested` (longest first); the RE branch works on spans directly and trains on all gold
entities, nested ones included.

RE: for each candidate ordered pair (head, tail) the K RE layers run over the shared lower-layer states
with a relation mask ("focused attention"). ``mask_variant`` "eq13": [CLS] attends only to itself and
the wordpieces of the two entities, every other token to the whole sentence; "eq14": [CLS] and both
entities' wordpieces attend only to each other, every other token to the whole sentence. An MLP (tanh
hidden layer) on the RE branch's [CLS] output gives a softmax over NEG (index 0) + relation types;
types the schema forbids for the pair's entity types are masked. Pairs are replicated from the shared
states ([P, T, H]) in chunks of ``pair_chunk``; for a sentence that fits one window the same function
is computed on just the rows [CLS] depends on (see :meth:`FocusModel.relation_cls_focused`: a few rows per
pair instead of K full sequences; exact for "eq14" at any K and for "eq13" at K <= 2). Candidates: gold entities in training (every related
pair plus up to ``max_neg_pairs`` sampled unrelated ordered pairs per sentence), predicted entities at
inference (gold with ``gold_entities=True``). A pair whose entity types no relation type allows is never
run through the RE layers: its answer is NEG with certainty.

Long sentences: the shared and NER layers run per window and are stitched as in
:class:`~mlcore.encoder.WindowedEncoder`, so NER sees every wordpiece. The RE layers need one sequence
per pair: for a sentence longer than the window, each pair's RE context is truncated (see
:func:`relation_context`) to a window of stitched lower-layer states around the pair ([CLS], the chosen
wordpieces in order, [SEP]); every pair is still scored, so no mention or pair is dropped.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any, Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..alignment import Doc
from ..encoder import WindowedEncoder
from ..pooling import words_from_wordpieces
from ..types import Schema
from .base import (
    FFNN,
    JointModel,
    RawPrediction,
    bald_categorical,
    categorical_uncertainty,
    finish_uncertainty,
    item_uncertainty,
    items_by_doc,
    softmax_relation_calibration,
    softmax_relations,
    word_uncertainty,
)
from .tagger import CRF, best_tag_paths, decode_tags, encode_tags, reduce_nested

MASK_VARIANTS = ("eq13", "eq14")


@dataclass
class FocusConfig:
    """Hyperparameters of ``focus.v1`` (stored in the checkpoint)."""

    task_layers: int = 2  # K: top encoder layers run per task (1 <= K <= encoder layers)
    mask_variant: str = "eq13"  # relation attention mask: "eq13" or "eq14" (see module docstring)
    scheme: str = "BIOES"  # or "BIO"
    rel_hidden: int = 256  # tanh hidden layer of the relation MLP
    dropout: float = 0.1
    max_neg_pairs: int = 20  # unrelated ordered gold pairs sampled per sentence in training
    pair_chunk: int = 32  # pairs per RE-layer call (bounds memory: pair_chunk x T x H states)
    max_wordpieces: int | None = None
    window_overlap: int | None = None

    def __post_init__(self) -> None:
        if self.mask_variant not in MASK_VARIANTS:
            raise ValueError(f"mask_variant must be 'eq13' or 'eq14', not {self.mask_variant!r}")
        if self.scheme not in ("BIO", "BIOES"):
            raise ValueError(f"scheme must be BIO or BIOES, not {self.scheme!r}")
        if self.task_layers < 1:
            raise ValueError(f"task_layers must be >= 1, not {self.task_layers!r}")
        if self.pair_chunk < 1 or self.rel_hidden < 1:
            raise ValueError("pair_chunk and rel_hidden must be >= 1")
        if self.max_neg_pairs < 0:
            raise ValueError(f"max_neg_pairs must be >= 0, not {self.max_neg_pairs!r}")


def relation_context(n: int, head: tuple[int, int], tail: tuple[int, int], content: int) -> list[int]:
    """Wordpiece positions (sorted) forming a pair's RE context in a sentence of ``n`` wordpieces.

    The whole sentence when it fits ``content``; else one window of ``content`` wordpieces centred on
    the span from the first to the last entity wordpiece when that fits; else two windows of half the
    size, one centred on each entity (an entity longer than its half keeps its first wordpieces only).
    """
    if n <= content:
        return list(range(n))

    def around(s: int, e: int, size: int) -> range:
        if e - s >= size:
            return range(s, s + size)
        start = max(0, min(s - (size - (e - s)) // 2, n - size))
        return range(start, start + size)

    lo, hi = min(head[0], tail[0]), max(head[1], tail[1])
    if hi - lo <= content:
        return list(around(lo, hi, content))
    first, second = sorted([head, tail])
    half = content // 2
    return sorted(set(around(*first, half)) | set(around(*second, content - half)))


def relation_mask(valid: torch.Tensor, focus: torch.Tensor, variant: str) -> torch.Tensor:
    """Focused-attention visibility ``[P, L, L]`` (query i may attend key j) for pair sequences.

    valid [P, L] bool: non-padding positions; focus [P, L] bool: [CLS] (position 0) and the wordpieces
    of both entities. "eq13": [CLS] sees only the focus; "eq14": every focus position sees only the
    focus. All other rows (padding included) see every valid position.
    """
    p, length = valid.shape
    full = valid.unsqueeze(1).expand(p, length, length)
    focus_keys = (focus & valid).unsqueeze(1).expand(p, length, length)
    if variant == "eq13":
        rows = torch.zeros_like(valid)
        rows[:, 0] = True
    elif variant == "eq14":
        rows = focus & valid
    else:
        raise ValueError(f"unknown mask variant {variant!r}")
    return torch.where(rows.unsqueeze(-1), focus_keys, full)


def attention_bias(visible: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive 4D mask [P, 1, L, L] for BertLayer (0 = attend, dtype minimum = masked), as HF builds it."""
    bias = torch.zeros(visible.shape, dtype=dtype, device=visible.device)
    return bias.masked_fill(~visible, torch.finfo(dtype).min).unsqueeze(1)


def _layer_rows(layer: Any, q: torch.Tensor, kv: torch.Tensor, key_ok: torch.Tensor) -> torch.Tensor:
    """One BERT layer's output for the query rows q [P, Q, H] attending to the rows kv [P, K, H]
    (``key_ok`` [P, K] marks real keys): the layer's own weights, the arithmetic of its forward (scaled
    dot-product attention, output projection + residual + LayerNorm, feed-forward + residual +
    LayerNorm) on just these rows. Dropout as the layer's, in training mode."""
    sa = layer.attention.self
    p, n_q, _ = q.shape

    def heads(x: torch.Tensor) -> torch.Tensor:
        return x.view(p, x.shape[1], -1, sa.attention_head_size).transpose(1, 2)  # [P, heads, n, d]

    bias = torch.zeros(key_ok.shape, dtype=q.dtype, device=q.device).masked_fill(
        ~key_ok, torch.finfo(q.dtype).min
    )
    ctx = F.scaled_dot_product_attention(
        heads(sa.query(q)),
        heads(sa.key(kv)),
        heads(sa.value(kv)),
        attn_mask=bias[:, None, None, :],
        dropout_p=sa.dropout.p if layer.training else 0.0,
        scale=sa.scaling,
    )
    attended = layer.attention.output(ctx.transpose(1, 2).reshape(p, n_q, -1), q)
    return layer.output(layer.intermediate(attended), attended)


def _window_plan(enc: WindowedEncoder, n: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Window starts for ``n`` wordpieces and, per wordpiece, (window, position in window) of the window
    where it has the most context on both sides (the rule of :class:`WindowedEncoder`)."""
    starts = enc.windows(n)
    if len(starts) == 1:
        return starts, [(0, p + 1) for p in range(n)]
    src = []
    for p in range(n):
        best, best_ctx = 0, -1
        for wi, s in enumerate(starts):
            if s <= p < s + enc.content:
                ctx = min(p - s, s + enc.content - 1 - p)
                if ctx > best_ctx:
                    best, best_ctx = wi, ctx
        src.append((best, p - starts[best] + 1))
    return starts, src


@dataclass
class _Pass:
    """Shared-layer and NER-branch states of a batch of docs."""

    lower: torch.Tensor  # [W * Lw + 1, H] lower-layer states of every window, flat; last row zeros (padding)
    hidden: torch.Tensor  # [B, T, H] NER-branch wordpiece states (zeros on padding)
    mask: torch.Tensor  # [B, T] bool
    words: torch.Tensor  # [B, N, H] max-pooled NER-branch word states
    seq: list[list[int]]  # per doc: rows of ``lower`` for [CLS], each wordpiece, [SEP]

    @property
    def pad_row(self) -> int:
        return self.lower.shape[0] - 1


class _RelationMLP(nn.Module):
    """Dropout -> Linear -> tanh -> dropout -> Linear; ``mc=True`` keeps dropout on at inference."""

    def __init__(self, d_in: int, hidden: int, d_out: int, dropout: float):
        super().__init__()
        self.p = dropout
        self.hidden = nn.Linear(d_in, hidden)
        self.out = nn.Linear(hidden, d_out)

    def forward(self, x: torch.Tensor, mc: bool = False) -> torch.Tensor:
        drop = self.training or mc
        x = F.dropout(torch.tanh(self.hidden(F.dropout(x, self.p, drop))), self.p, drop)
        return self.out(x)


def _word_to_wp(d: Doc) -> tuple[list[int], list[int]]:
    """First wordpiece and one past the last wordpiece of each word (every word has at least one)."""
    first, end = [0] * d.n_words, [0] * d.n_words
    for i, w in enumerate(d.wp_word):
        if i == 0 or d.wp_word[i - 1] != w:
            first[w] = i
        end[w] = i + 1
    return first, end


class _BertLayers(Protocol):
    layer: nn.ModuleList


class _BertLike(Protocol):
    """What focus.v1 uses of a BERT-style transformer."""

    embeddings: nn.Module
    encoder: _BertLayers


class FocusModel(JointModel):
    """Shared lower layers, NER (CRF) and focused-attention RE branches; see the module docstring."""

    arch_name = "focus.v1"
    pair_ok: torch.Tensor  # registered buffer, set in __init__

    # tagger.v1's tag codec (uses self.tags, self.tag_index and self.cfg.scheme, set below)
    def encode_tags(self, n: int, ents: list[tuple[int, int, int]]) -> list[int]:
        return encode_tags(self.tag_index, n, ents, self.cfg.scheme == "BIOES")

    def decode_tags(self, tags: list[int]) -> list[tuple[int, int, int]]:
        return decode_tags(self.tags, tags)

    def __init__(self, cfg: FocusConfig, schema: Schema, encoder: WindowedEncoder):
        super().__init__(schema, encoder)
        base = encoder.model
        layers = getattr(getattr(base, "encoder", None), "layer", None)
        if not hasattr(base, "embeddings") or not isinstance(layers, nn.ModuleList):
            raise ValueError("focus.v1 needs a BERT-style encoder (embeddings + encoder.layer)")
        impl = getattr(base.config, "_attn_implementation", None) or "eager"
        if impl not in ("eager", "sdpa"):
            raise ValueError(f"focus.v1 needs eager or sdpa attention (4D masks), not {impl!r}")
        if cfg.task_layers > len(layers):
            raise ValueError(f"task_layers={cfg.task_layers} but the encoder has only {len(layers)} layers")
        self.cfg = cfg
        self.n_shared = len(layers) - cfg.task_layers
        # the copies share the encoder's config object, so an attention-implementation switch reaches them
        memo = {id(base.config): base.config}
        encoder.re_layers = nn.ModuleList(copy.deepcopy(layer, memo) for layer in layers[self.n_shared :])
        prefixes = "BI" if cfg.scheme == "BIO" else "BIES"
        self.tags = ["O"] + [f"{p}-{t}" for t in range(self.n_ent) for p in prefixes]
        self.tag_index = {t: i for i, t in enumerate(self.tags)}
        h = encoder.hidden_size
        self.emit = FFNN(h, len(self.tags), 0, cfg.dropout)
        self.crf = CRF(len(self.tags))
        self.rel_mlp = _RelationMLP(h, cfg.rel_hidden, self.n_rel + 1, cfg.dropout)  # index 0 = NEG
        # pair_ok[h, t]: some relation type may link an entity of type h to one of type t
        self.register_buffer("pair_ok", self.allowed.any(-1) & (self.n_rel > 0), persistent=False)

    # ---- encoder pieces -----------------------------------------------------------------------------------
    @property
    def _bert(self) -> _BertLike:
        # checked in __init__; the encoder only declares an nn.Module
        return cast(_BertLike, self.encoder.model)

    @property
    def shared_layers(self) -> nn.ModuleList:
        return self._bert.encoder.layer[: self.n_shared]

    @property
    def ner_layers(self) -> nn.ModuleList:
        return self._bert.encoder.layer[self.n_shared :]

    @property
    def re_layers(self) -> nn.ModuleList:
        return cast(nn.ModuleList, self.encoder.re_layers)

    @staticmethod
    def _run(layers: nn.ModuleList, x: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """BertLayers over x [P, L, H] with visibility [P, L, L] -> [P, L, H]."""
        if not len(layers):
            return x
        bias = attention_bias(visible, x.dtype)
        for layer in layers:
            out = layer(x, bias)
            x = out[0] if isinstance(out, tuple) else out
        return x

    def shared_pass(self, docs: list[Doc]) -> _Pass:
        """Embeddings and shared layers once per window, then the NER layers; stitched per doc."""
        enc = self.encoder
        dev = self.device
        win_ids: list[list[int]] = []
        plans = []  # (first window, [(global window, pos)] per wordpiece, last window)
        for d in docs:
            starts, src = _window_plan(enc, len(d.wp_ids))
            base = len(win_ids)
            for s in starts:
                win_ids.append([enc.cls_id, *d.wp_ids[s : s + enc.content], enc.sep_id])
            plans.append((base, [(base + w, p) for w, p in src], len(win_ids) - 1))
        lw = max(len(w) for w in win_ids)
        ids = torch.full((len(win_ids), lw), enc.pad_id, dtype=torch.long)
        att = torch.zeros((len(win_ids), lw), dtype=torch.bool)
        for i, w in enumerate(win_ids):
            ids[i, : len(w)] = torch.tensor(w, dtype=torch.long)
            att[i, : len(w)] = True
        ids, att = ids.to(dev), att.to(dev)
        visible = att.unsqueeze(1).expand(-1, lw, -1)  # [W, Lw, Lw]: key padding only
        x = self._bert.embeddings(input_ids=ids)  # [W, Lw, H]
        lower = self._run(self.shared_layers, x, visible)
        upper = self._run(self.ner_layers, lower, visible)  # [W, Lw, H]
        h = upper.shape[-1]
        t_max = max(1, max(len(d.wp_ids) for d in docs))
        gather = torch.full((len(docs), t_max), len(win_ids) * lw, dtype=torch.long)
        seq: list[list[int]] = []
        for b, (first, src, last) in enumerate(plans):
            rows = [w * lw + p for w, p in src]
            gather[b, : len(rows)] = torch.tensor(rows, dtype=torch.long)
            seq.append([first * lw, *rows, last * lw + len(win_ids[last]) - 1])
        mask = gather < len(win_ids) * lw
        gather, mask = gather.to(dev), mask.to(dev)
        zero = upper.new_zeros((1, h))
        hidden = torch.cat([upper.reshape(-1, h), zero])[gather]  # [B, T, H], zeros on padding
        n_max = max(1, max(d.n_words for d in docs))
        wp_word = torch.full((len(docs), t_max), n_max, dtype=torch.long)
        for b, d in enumerate(docs):
            if d.wp_word:
                wp_word[b, : len(d.wp_word)] = torch.tensor(d.wp_word, dtype=torch.long)
        words = words_from_wordpieces(hidden, wp_word.to(dev), n_max)  # [B, N, H]
        flat = torch.cat([lower.reshape(-1, h), lower.new_zeros((1, h))])
        return _Pass(flat, hidden, mask, words, seq)

    def relation_inputs(
        self, ps: _Pass, docs: list[Doc], pairs: list[tuple[int, tuple[int, int], tuple[int, int]]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows of ``ps.lower`` [P, L], valid [P, L] and focus [P, L] masks for pairs
        (doc, head wordpiece span, tail wordpiece span)."""
        rows, focus = [], []
        for b, (hs, he), (ts, te) in pairs:
            n = len(docs[b].wp_ids)
            pos = relation_context(n, (hs, he), (ts, te), self.encoder.content)
            seq = ps.seq[b]
            rows.append([seq[0], *(seq[1 + i] for i in pos), seq[n + 1]])
            focus.append([True, *(hs <= i < he or ts <= i < te for i in pos), False])
        length = max(len(r) for r in rows)
        idx = torch.full((len(rows), length), ps.pad_row, dtype=torch.long)
        valid = torch.zeros((len(rows), length), dtype=torch.bool)
        foc = torch.zeros((len(rows), length), dtype=torch.bool)
        for i, (r, f) in enumerate(zip(rows, focus, strict=True)):
            idx[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            valid[i, : len(r)] = True
            foc[i, : len(f)] = torch.tensor(f, dtype=torch.bool)
        dev = ps.lower.device
        return idx.to(dev), valid.to(dev), foc.to(dev)

    def relation_cls(
        self, ps: _Pass, docs: list[Doc], pairs: list[tuple[int, tuple[int, int], tuple[int, int]]]
    ) -> torch.Tensor:
        """RE-branch [CLS] states [P, H] of pairs (doc, head wordpiece span, tail wordpiece span).

        Pairs of a sentence that fits one window take :meth:`relation_cls_focused` (the same function,
        computed on the few rows it depends on) when the mask variant and K allow it; the others
        :meth:`relation_cls_replicated`.
        """
        fast = self.cfg.mask_variant == "eq14" or self.cfg.task_layers <= 2
        content = self.encoder.content
        quick = [i for i, (b, _, _) in enumerate(pairs) if fast and len(docs[b].wp_ids) <= content]
        if len(quick) == len(pairs):
            return self.relation_cls_focused(ps, docs, pairs)
        if not quick:
            return self.relation_cls_replicated(ps, docs, pairs)
        rest = sorted(set(range(len(pairs))) - set(quick))
        states = torch.cat(
            [
                self.relation_cls_focused(ps, docs, [pairs[i] for i in quick]),
                self.relation_cls_replicated(ps, docs, [pairs[i] for i in rest]),
            ]
        )
        order = torch.tensor(quick + rest, device=states.device)
        return states[torch.argsort(order)]

    def relation_cls_replicated(
        self, ps: _Pass, docs: list[Doc], pairs: list[tuple[int, tuple[int, int], tuple[int, int]]]
    ) -> torch.Tensor:
        """[CLS] states [P, H]: the K RE layers over each pair's whole context with its relation mask."""
        out = []
        for c in range(0, len(pairs), self.cfg.pair_chunk):
            idx, valid, foc = self.relation_inputs(ps, docs, pairs[c : c + self.cfg.pair_chunk])
            x = ps.lower[idx]  # [P, L, H] replicated shared states
            x = self._run(self.re_layers, x, relation_mask(valid, foc, self.cfg.mask_variant))
            out.append(x[:, 0])
        return torch.cat(out)

    def relation_cls_focused(
        self, ps: _Pass, docs: list[Doc], pairs: list[tuple[int, tuple[int, int], tuple[int, int]]]
    ) -> torch.Tensor:
        """[CLS] states [P, H] computed on the rows the output depends on (whole-window sentences only).

        The mask makes most of the replicated computation pair-independent. "eq14": the focus rows
        ([CLS] and the two entities' wordpieces) attend only to each other, so they are a closed
        system: K layers over those few rows alone give [CLS] exactly. "eq13": [CLS] reads only the
        focus rows, and every other row reads the whole sentence; in the first RE layer those rows see
        only the pair-independent lower states, so they are one full-attention pass per sentence, and
        [CLS] is a single query row per layer; exact for K <= 2 (from the third layer on the other rows
        would see a pair-specific [CLS]). Per pair that is a few rows instead of K full sequences. In
        training, dropout on the shared rows is drawn once per sentence rather than once per pair.
        """
        dev = ps.lower.device
        focus: list[list[int]] = []  # per pair: wordpiece positions of the two entities (sorted, once)
        for _, (hs, he), (ts, te) in pairs:
            focus.append(sorted(set(range(hs, he)) | set(range(ts, te))))
        layers = self.re_layers
        two_step = self.cfg.mask_variant == "eq13" and len(layers) == 2
        if two_step:
            # eq13's second layer: [CLS] reads itself and the entities' first-RE-layer states, which saw
            # the whole sentence (full attention over lower states): one pass per sentence
            docs_used = sorted({b for b, _, _ in pairs})
            slot = {b: k for k, b in enumerate(docs_used)}
            length = max(len(ps.seq[b]) for b in docs_used)
            seq_rows = torch.full((len(docs_used), length), ps.pad_row, dtype=torch.long)
            valid = torch.zeros((len(docs_used), length), dtype=torch.bool)
            for k, b in enumerate(docs_used):
                seq_rows[k, : len(ps.seq[b])] = torch.tensor(ps.seq[b], dtype=torch.long)
                valid[k, : len(ps.seq[b])] = True
            seq_rows, valid = seq_rows.to(dev), valid.to(dev)
            full = self._run(layers[:1], ps.lower[seq_rows], valid.unsqueeze(1).expand(-1, length, -1))
            flat = torch.cat([full.reshape(-1, full.shape[-1]), full.new_zeros((1, full.shape[-1]))])
        out = []
        step = 32 * self.cfg.pair_chunk  # pairs per call: bounds memory on sentences with many entities
        for c in range(0, len(pairs), step):
            part, foc = pairs[c : c + step], focus[c : c + step]
            width = 1 + max(len(f) for f in foc)
            rows = torch.full((len(part), width), ps.pad_row, dtype=torch.long)
            ok = torch.zeros((len(part), width), dtype=torch.bool)
            for i, ((b, _, _), f) in enumerate(zip(part, foc, strict=True)):
                seq = ps.seq[b]
                rows[i, : 1 + len(f)] = torch.tensor([seq[0], *(seq[1 + w] for w in f)], dtype=torch.long)
                ok[i, : 1 + len(f)] = True
            rows, ok = rows.to(dev), ok.to(dev)
            x = ps.lower[rows]  # [P, F, H]: [CLS] then the entities' wordpieces, lower-layer states
            if self.cfg.mask_variant == "eq14":
                for layer in layers:
                    x = _layer_rows(layer, x, x, ok)
                out.append(x[:, 0])
                continue
            cls = _layer_rows(layers[0], x[:, :1], x, ok)  # [P, 1, H]
            if not two_step:
                out.append(cls[:, 0])
                continue
            ent = torch.full((len(part), width - 1), flat.shape[0] - 1, dtype=torch.long)
            for i, ((b, _, _), f) in enumerate(zip(part, foc, strict=True)):
                ent[i, : len(f)] = torch.tensor([slot[b] * length + 1 + w for w in f], dtype=torch.long)
            keys = torch.cat([cls, flat[ent.to(dev)]], 1)  # [P, F, H]
            out.append(_layer_rows(layers[1], cls, keys, ok)[:, 0])
        return torch.cat(out)

    def _rel_logits(
        self, cls: torch.Tensor, h_type: torch.Tensor, t_type: torch.Tensor, mc: bool = False
    ) -> torch.Tensor:
        """Scores [P, n_rel + 1] (NEG first); types the schema forbids for the pair are masked."""
        scores = self.rel_mlp(cls, mc=mc)
        if self.n_rel:
            allowed = self.allowed[h_type, t_type][:, : self.n_rel]
            scores = torch.cat([scores[:, :1], scores[:, 1:].masked_fill(~allowed, -1e4)], dim=1)
        return scores

    @staticmethod
    def _pair_spans(docs: list[Doc], ents: list[list[tuple[int, int, int]]], pb, pi, pj):
        """(doc, head wordpiece span, tail wordpiece span) of entity pairs given as parallel index lists."""
        maps = {b: _word_to_wp(docs[b]) for b in set(pb)}

        def span(b: int, e: tuple[int, int, int]) -> tuple[int, int]:
            first, end = maps[b]
            return first[e[0]], end[e[1] - 1]

        return [(b, span(b, ents[b][i]), span(b, ents[b][j])) for b, i, j in zip(pb, pi, pj, strict=True)]

    def _gold_tags(self, docs: list[Doc], n_max: int) -> torch.Tensor:
        """Gold tags [B, N] of the nested-reduced gold mentions."""
        tags = torch.zeros((len(docs), n_max), dtype=torch.long)
        for b, d in enumerate(docs):
            red = [d.ents[i] for i in reduce_nested(d.ents)]
            tags[b, : d.n_words] = torch.tensor(self.encode_tags(d.n_words, red), dtype=torch.long)
        return tags

    # ---- training -----------------------------------------------------------------------------------------
    def loss(self, docs: list[Doc], rng: random.Random, rel_weight: float = 1.0) -> dict[str, torch.Tensor]:
        ps = self.shared_pass(docs)
        dev = ps.words.device
        n_max = ps.words.shape[1]
        mask = torch.zeros((len(docs), n_max), dtype=torch.bool, device=dev)
        for b, d in enumerate(docs):
            mask[b, : d.n_words] = True
        em = self.emit(ps.words)  # [B, N, n_tags]
        ent_loss = self.crf.nll(em.float(), self._gold_tags(docs, n_max).to(dev), mask)

        sym = [r.symmetric for r in self.schema.relation_types]
        ok = self.pair_ok.tolist()
        pb, pi, pj, plab = [], [], [], []
        for b, d in enumerate(docs):
            lab: dict[tuple[int, int], int] = {}
            for h, t, r in d.rels:
                lab.setdefault((h, t), r + 1)
                if sym[r]:
                    lab.setdefault((t, h), r + 1)
            n = len(d.ents)
            negs = [
                (i, j)
                for i in range(n)
                for j in range(n)
                if i != j and (i, j) not in lab and ok[d.ents[i][2]][d.ents[j][2]]
            ]
            if len(negs) > self.cfg.max_neg_pairs:
                negs = rng.sample(negs, self.cfg.max_neg_pairs)
            for (i, j), y in [*lab.items(), *((p, 0) for p in negs)]:
                pb.append(b)
                pi.append(i)
                pj.append(j)
                plab.append(y)
        if pb:
            ents = [d.ents for d in docs]
            cls = self.relation_cls(ps, docs, self._pair_spans(docs, ents, pb, pi, pj))
            lt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
            htp = lt([ents[b][i][2] for b, i in zip(pb, pi, strict=True)])
            ttp = lt([ents[b][j][2] for b, j in zip(pb, pj, strict=True)])
            rel_loss = F.cross_entropy(self._rel_logits(cls, htp, ttp).float(), lt(plab))
        else:
            rel_loss = em.sum() * 0.0
        return {"loss": ent_loss + rel_weight * rel_loss, "entity_loss": ent_loss, "relation_loss": rel_loss}

    # ---- inference ----------------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_docs(
        self, docs: list[Doc], *, gold_entities: bool = False, mc_samples: int = 0, calibration: bool = False
    ) -> list[RawPrediction]:
        ps = self.shared_pass(docs)
        dev = ps.words.device
        m = ps.mask.unsqueeze(-1).to(ps.hidden.dtype)
        emb = ((ps.hidden * m).sum(1) / m.sum(1).clamp(min=1.0)).float().cpu()  # [B, H] mean of wordpieces
        out = [RawPrediction(embedding=emb[b].tolist()) for b in range(len(docs))]
        b_n, n_max = len(docs), ps.words.shape[1]
        mask = torch.zeros((b_n, n_max), dtype=torch.bool, device=dev)
        for b, d in enumerate(docs):
            mask[b, : d.n_words] = True
        em = self.emit(ps.words).float()  # [B, N, n_tags]
        probs = torch.softmax(em / self.entity_temperature, -1)
        tag_u = categorical_uncertainty(probs.reshape(-1, probs.shape[-1]))
        tag_bald = None
        if mc_samples and not gold_entities:
            samples = torch.stack(
                [torch.softmax(self.emit(ps.words, mc=True).float(), -1) for _ in range(mc_samples)]
            )  # [K, B, N, T]
            tag_bald = bald_categorical(samples.reshape(mc_samples, -1, samples.shape[-1])).view(b_n, n_max)
        ent_raw: list[list[float]] = []  # uncalibrated entity scores (inputs to relation scores)
        if gold_entities:
            ents = [list(d.ents) for d in docs]
            for b, es in enumerate(ents):
                out[b].ents = [(s, e, t, 1.0) for s, e, t in es]
                ent_raw.append([1.0] * len(es))
        else:
            paths, tags = best_tag_paths(em, mask, self.crf, [d.n_words for d in docs])
            ents = [self.decode_tags(p) for p in paths]
            tag_p = probs.gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # [B, N] calibrated prob of chosen tag
            raw_p = torch.softmax(em, -1).gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # [B, N] uncalibrated
            for b, es in enumerate(ents):
                out[b].ents = [(s, e, t, float(tag_p[b, s:e].mean())) for s, e, t in es]
                ent_raw.append([float(raw_p[b, s:e].mean()) for s, e, _ in es])

        pb, pi, pj = [], [], []
        ok = self.pair_ok.tolist()
        for b, es in enumerate(ents):
            for i in range(len(es)):
                for j in range(len(es)):
                    if i != j and ok[es[i][2]][es[j][2]]:
                        pb.append(b)
                        pi.append(i)
                        pj.append(j)
        sym = [r.symmetric for r in self.schema.relation_types]
        rel_probs = rel_logits = rel_bald = None
        if pb:
            cls = self.relation_cls(ps, docs, self._pair_spans(docs, ents, pb, pi, pj))  # [P, H]
            lt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
            htp = lt([ents[b][i][2] for b, i in zip(pb, pi, strict=True)])
            ttp = lt([ents[b][j][2] for b, j in zip(pb, pj, strict=True)])
            rel_logits = self._rel_logits(cls, htp, ttp).float()  # [P, n_rel + 1]
            rel_probs = torch.softmax(rel_logits / self.relation_temperature, -1)
            if mc_samples:
                # MC dropout in the relation MLP only (the RE layers' [CLS] states are computed once)
                mcs = torch.stack(
                    [
                        torch.softmax(self._rel_logits(cls, htp, ttp, mc=True).float(), -1)
                        for _ in range(mc_samples)
                    ]
                )  # [K, P, n_rel + 1]
                rel_bald = bald_categorical(mcs)
            pred, arg_prob, rels_by_doc = softmax_relations(
                rel_logits, rel_probs, (pb, pi, pj), ent_raw, ents, sym
            )
            for b, rels in enumerate(rels_by_doc):
                out[b].rels = rels

        pairs = items_by_doc(pb)
        rel_u = categorical_uncertainty(rel_probs) if rel_probs is not None else None
        for b, d in enumerate(docs):
            unc = {} if gold_entities else word_uncertainty(tag_u, tag_bald, b, n_max, d.n_words)
            unc.update(item_uncertainty(rel_u, rel_bald, pairs.get(b, []), d.n_words))
            out[b].uncertainty = finish_uncertainty(unc, mc_samples)

        if calibration and docs:
            cal: dict[str, Any] = {}
            if not gold_entities:
                # fitted on the words of predicted mentions: their scores are what users see
                sel = torch.zeros_like(mask)
                for b, es in enumerate(ents):
                    for st, en, _ in es:
                        sel[b, st:en] = True
                cal["entity_logits"] = em[sel].cpu()
                cal["entity_labels"] = self._gold_tags(docs, n_max).to(dev)[sel].cpu()
            if rel_logits is not None:
                cal.update(
                    softmax_relation_calibration(docs, sym, rel_logits, pred, arg_prob, (pb, pi, pj), ents)
                )
            out[0].calibration = cal
        return out
