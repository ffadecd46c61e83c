"""``span.v1``: span-based joint entity and relation extraction after SpERT (Eberts & Ulges, 2020).

Every word span up to ``max_span_width`` is a candidate: max-pool of its words (hence of its wordpieces),
a learned width embedding and [CLS] feed a softmax over entity types + none. Relations are classified
over ordered pairs of the remaining spans from both span representations (plus an embedding of the
entity type: gold in training, predicted at inference), and the max-pooled context between them (zeros
when empty), with a sigmoid per relation type. Training: all gold spans plus ``neg_entities`` random
non-gold spans, all gold relation pairs plus ``neg_relations`` strong negatives (pairs of gold entities
without relation) per sentence; one encoder pass per sentence.

Ablations after SpERT: ``span_pooling`` "sum" or "mean" instead of "max" (from prefix sums over word
states, so memory stays independent of the number of spans), and ``rel_context`` "sentence" (max-pool of
the whole sentence) or "cls" (the [CLS] vector) instead of the localized context between the two spans.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..alignment import Doc
from ..encoder import WindowedEncoder
from ..pooling import RangeSum
from ..types import Schema
from .base import (
    FFNN,
    Encoded,
    JointModel,
    RawPrediction,
    bald_binary,
    bald_categorical,
    binary_uncertainty,
    categorical_uncertainty,
    summarise_uncertainty,
)


@dataclass
class SpanConfig:
    """Hyperparameters of ``span.v1`` (stored in the checkpoint)."""

    max_span_width: int = (
        10  # in words; longer gold spans still train (width bucket max+1) but are not proposed
    )
    width_dim: int = 25
    boundary_repr: bool = True  # add first/last word states to the max-pool (SpERT: max-pool only)
    type_dim: int = 25  # entity-type embedding in the relation representation (0: off, as in SpERT)
    ent_hidden: int = 256  # hidden layer of the entity head (0: linear, as in SpERT)
    rel_hidden: int = 256
    dropout: float = 0.1
    neg_entities: int = 100
    neg_relations: int = 100
    rel_threshold: float = 0.4  # on the uncalibrated sigmoid; calibration only changes reported scores
    # 0: a span is an entity when a type beats "none" (argmax, as SpERT); in [0.5, 1): when its best type's
    # uncalibrated probability reaches this (stricter: fewer, surer mentions)
    ent_threshold: float = 0.0
    span_chunk: int = 8192  # spans per head call at inference (bounds memory)
    rel_chunk: int = 4096  # relation candidates per head call
    max_wordpieces: int | None = None  # encoder window length (None: the encoder's limit)
    window_overlap: int | None = None
    span_pooling: str = "max"  # word states of a span: "max", "sum" or "mean"
    rel_context: str = "localized"  # "localized": max-pool between the spans; "sentence": of all; "cls"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` on an unknown option."""
        choices = {"span_pooling": ("max", "sum", "mean"), "rel_context": ("localized", "sentence", "cls")}
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")
        if not (self.ent_threshold == 0.0 or 0.5 <= self.ent_threshold < 1.0):
            raise ValueError(f"ent_threshold must be 0 (argmax) or in [0.5, 1), not {self.ent_threshold!r}")
        for name in ("neg_entities", "neg_relations"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, not {getattr(self, name)!r}")


@dataclass
class SpanEncoded(Encoded):
    """Encoder output plus what the configured pooling and relation context need."""

    sums: RangeSum | None = None  # prefix sums over words (span_pooling "sum" / "mean")
    sentence: torch.Tensor | None = None  # [B, H] max-pool of each sentence's words (rel_context "sentence")


class SpanModel(JointModel):
    arch_name = "span.v1"

    def __init__(self, cfg: SpanConfig, schema: Schema, encoder: WindowedEncoder):
        super().__init__(schema, encoder)
        cfg.validate()  # again: the config may have been changed after construction
        self.cfg = cfg
        h = encoder.hidden_size
        self.width_emb = nn.Embedding(cfg.max_span_width + 2, cfg.width_dim)
        self.type_emb = nn.Embedding(self.n_ent + 1, cfg.type_dim) if cfg.type_dim else None
        span_dim = (3 * h if cfg.boundary_repr else h) + cfg.width_dim
        arg_dim = span_dim + cfg.type_dim
        self.ent_head = FFNN(span_dim + h, self.n_ent + 1, cfg.ent_hidden, cfg.dropout)
        self.rel_head = FFNN(2 * arg_dim + h, max(1, self.n_rel), cfg.rel_hidden, cfg.dropout)

    # ---- representations -------------------------------------------------------------------------
    def encode(self, docs: list[Doc]) -> SpanEncoded:
        enc = super().encode(docs)
        sums = RangeSum(enc.words) if self.cfg.span_pooling != "max" else None
        sentence = None
        if self.cfg.rel_context == "sentence":
            dev = enc.words.device
            b = torch.arange(len(docs), device=dev)
            n = torch.tensor(enc.n_words, dtype=torch.long, device=dev)
            sentence = enc.ranges.query(b, torch.zeros_like(n), n)  # [B, H]
        base = {f.name: getattr(enc, f.name) for f in fields(Encoded)}
        return SpanEncoded(**base, sums=sums, sentence=sentence)

    def _pool(self, enc: SpanEncoded, b: torch.Tensor, s: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """[S, H] pooled word states of spans ``[s, e)`` of sequences ``b``."""
        if enc.sums is None:
            return enc.ranges.query(b, s, e)
        return enc.sums.query(b, s, e, mean=self.cfg.span_pooling == "mean")

    def _context(
        self,
        enc: SpanEncoded,
        b: torch.Tensor,  # [P]
        h_span: tuple[torch.Tensor, torch.Tensor],  # (start, end) words, [P] each
        t_span: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        """[P, H] relation context of each pair."""
        if self.cfg.rel_context == "cls":
            return enc.cls[b]
        if enc.sentence is not None:
            return enc.sentence[b]
        ctx_s = torch.minimum(h_span[1], t_span[1])
        ctx_e = torch.maximum(h_span[0], t_span[0])
        return enc.ranges.query(b, ctx_s, ctx_e)  # zeros when the spans touch or overlap

    def _span_repr(self, enc: SpanEncoded, b: torch.Tensor, s: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """[S, span_dim] for spans ``[s, e)`` of sequences ``b``: pool (+ first and last word) + width."""
        pooled = self._pool(enc, b, s, e)
        width = (e - s).clamp(max=self.cfg.max_span_width + 1)
        parts = [pooled]
        if self.cfg.boundary_repr:
            n = enc.words.shape[1]
            flat = enc.words.reshape(-1, enc.words.shape[-1])  # [B * N, H]
            parts += [flat[b * n + s], flat[b * n + (e - 1).clamp(min=0)]]
        parts.append(self.width_emb(width).to(pooled.dtype))
        return torch.cat(parts, dim=-1)

    def _ent_logits(
        self, enc: SpanEncoded, rep: torch.Tensor, b: torch.Tensor, mc: bool = False
    ) -> torch.Tensor:
        return self.ent_head(torch.cat([rep, enc.cls[b]], dim=-1), mc=mc)  # [S, n_ent + 1]

    def _rel_logits(
        self,
        enc: SpanEncoded,
        b: torch.Tensor,  # [P] sequence of each pair
        h_rep: torch.Tensor,  # [P, span_dim]
        t_rep: torch.Tensor,
        h_span: tuple[torch.Tensor, torch.Tensor],  # (start, end) words, [P] each
        t_span: tuple[torch.Tensor, torch.Tensor],
        h_type: torch.Tensor,  # [P] entity type index
        t_type: torch.Tensor,
        mc: bool = False,
    ) -> torch.Tensor:
        ctx = self._context(enc, b, h_span, t_span)  # [P, H]
        parts = [h_rep, t_rep, ctx]
        if self.type_emb is not None:
            parts += [self.type_emb(h_type).to(h_rep.dtype), self.type_emb(t_type).to(h_rep.dtype)]
        logits = self.rel_head(torch.cat(parts, dim=-1), mc=mc)  # [P, n_rel]
        allowed = self.allowed[h_type, t_type][:, : logits.shape[-1]]
        return logits.masked_fill(~allowed, -1e4)

    # ---- factorised inference (same function as the heads without dropout, far fewer FLOPs) ---------
    @staticmethod
    def _first_layer(head: FFNN) -> nn.Linear:
        return head.hidden if head.hidden is not None else head.out

    @staticmethod
    def _finish(head: FFNN, y: torch.Tensor) -> torch.Tensor:
        return head.out(F.gelu(y)) if head.hidden is not None else y

    def _ent_logits_factored(
        self, enc: SpanEncoded, b: torch.Tensor, s: torch.Tensor, e: torch.Tensor
    ) -> torch.Tensor:
        """Entity logits [S, n_ent + 1] with the first layer split by input part.

        Start/end word, width and [CLS] projections are computed once per word/width/sentence; only the
        max-pooled part is projected per span (H x D instead of (4H + width) x D multiply-adds).
        """
        lin = self._first_layer(self.ent_head)
        w = lin.weight  # [D, in]
        h = enc.words.shape[-1]
        n = enc.words.shape[1]
        o = 0
        y = self._pool(enc, b, s, e) @ w[:, o : o + h].T  # [S, D]
        o += h
        if self.cfg.boundary_repr:
            flat = enc.words.reshape(-1, h)
            ps = flat @ w[:, o : o + h].T  # [B * N, D]
            pe = flat @ w[:, o + h : o + 2 * h].T
            y = y + ps[b * n + s] + pe[b * n + (e - 1).clamp(min=0)]
            o += 2 * h
        wd = self.cfg.width_dim
        pw = self.width_emb.weight @ w[:, o : o + wd].T  # [widths, D]
        width = (e - s).clamp(max=self.cfg.max_span_width + 1)
        o += wd
        pc = enc.cls @ w[:, o : o + h].T  # [B, D]
        y = y + pw[width] + pc[b] + lin.bias
        return self._finish(self.ent_head, y)

    def _rel_logits_factored(
        self,
        enc: SpanEncoded,
        k_rep: torch.Tensor,  # [K, span_dim] kept entities
        k_type: torch.Tensor,  # [K]
        k_span: tuple[torch.Tensor, torch.Tensor],  # (start, end) words, [K] each
        pb: torch.Tensor,  # [P] sequence of each pair
        ph: torch.Tensor,  # [P] head index into kept
        pt: torch.Tensor,  # [P] tail index into kept
        chunk: int,
    ) -> torch.Tensor:
        """Relation logits [P, n_rel]: head/tail parts projected once per entity, context per pair."""
        lin = self._first_layer(self.rel_head)
        w = lin.weight
        sd = k_rep.shape[-1]
        h = enc.words.shape[-1]
        a_h = k_rep @ w[:, :sd].T  # [K, D]
        a_t = k_rep @ w[:, sd : 2 * sd].T
        if self.type_emb is not None:
            td = self.cfg.type_dim
            temb = self.type_emb(k_type)
            a_h = a_h + temb @ w[:, 2 * sd + h : 2 * sd + h + td].T
            a_t = a_t + temb @ w[:, 2 * sd + h + td :].T
        w_ctx = w[:, 2 * sd : 2 * sd + h]
        out = []
        for c in range(0, pb.shape[0], chunk):
            b, i, j = pb[c : c + chunk], ph[c : c + chunk], pt[c : c + chunk]
            ctx = self._context(enc, b, (k_span[0][i], k_span[1][i]), (k_span[0][j], k_span[1][j]))
            y = a_h[i] + a_t[j] + ctx @ w_ctx.T + lin.bias
            logits = self._finish(self.rel_head, y)
            allowed = self.allowed[k_type[i], k_type[j]][:, : logits.shape[-1]]
            out.append(logits.masked_fill(~allowed, -1e4))
        return torch.cat(out) if out else torch.zeros((0, max(1, self.n_rel)), device=k_rep.device)

    # ---- training -----------------------------------------------------------------------------------
    def loss(self, docs: list[Doc], rng: random.Random, rel_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """Entity cross-entropy (mean over sampled spans) + relation BCE (sum over types, mean over pairs)."""
        cfg = self.cfg
        enc = self.encode(docs)
        sb: list[int] = []
        ss: list[int] = []
        se: list[int] = []
        sl: list[int] = []
        pb, ph, pt, ptarget = [], [], [], []
        for b, d in enumerate(docs):
            base = len(ss)
            gold_spans = set()
            for ws, we, t in d.ents:
                sb.append(b)
                ss.append(ws)
                se.append(we)
                sl.append(t + 1)
                gold_spans.add((ws, we))
            n = d.n_words
            neg = [
                (s, s + w)
                for s in range(n)
                for w in range(1, min(cfg.max_span_width, n - s) + 1)
                if (s, s + w) not in gold_spans
            ]
            if len(neg) > cfg.neg_entities:
                neg = rng.sample(neg, cfg.neg_entities)
            for s, e in neg:
                sb.append(b)
                ss.append(s)
                se.append(e)
                sl.append(0)
            pos: dict[tuple[int, int], set[int]] = defaultdict(set)
            for h, t, r in d.rels:
                pos[(h, t)].add(r)
                if self.schema.relation_types[r].symmetric:
                    pos[(t, h)].add(r)
            g = len(d.ents)
            negp = [(i, j) for i in range(g) for j in range(g) if i != j and (i, j) not in pos]
            if len(negp) > cfg.neg_relations:
                negp = rng.sample(negp, cfg.neg_relations)
            for (i, j), rs in [*pos.items(), *((p, set()) for p in negp)]:
                target = [0.0] * max(1, self.n_rel)
                for r in rs:
                    target[r] = 1.0
                pb.append(b)
                ph.append(base + i)
                pt.append(base + j)
                ptarget.append(target)
        dev = enc.words.device
        b_t = torch.tensor(sb, dtype=torch.long, device=dev)
        s_t = torch.tensor(ss, dtype=torch.long, device=dev)
        e_t = torch.tensor(se, dtype=torch.long, device=dev)
        labels = torch.tensor(sl, dtype=torch.long, device=dev)
        rep = self._span_repr(enc, b_t, s_t, e_t)  # [S, span_dim]
        ent_logits = self._ent_logits(enc, rep, b_t)
        ent_loss = F.cross_entropy(ent_logits.float(), labels)
        if pb:
            hi = torch.tensor(ph, dtype=torch.long, device=dev)
            ti = torch.tensor(pt, dtype=torch.long, device=dev)
            types = (labels - 1).clamp(min=0)
            rel_logits = self._rel_logits(
                enc,
                torch.tensor(pb, dtype=torch.long, device=dev),
                rep[hi],
                rep[ti],
                (s_t[hi], e_t[hi]),
                (s_t[ti], e_t[ti]),
                types[hi],
                types[ti],
            )
            targets = torch.tensor(ptarget, dtype=torch.float32, device=dev)
            mask = self.allowed[types[hi], types[ti]][:, : targets.shape[1]].float()
            bce = F.binary_cross_entropy_with_logits(rel_logits.float(), targets, reduction="none")
            rel_loss = (bce * mask).sum(-1).mean()
        else:
            rel_loss = ent_logits.sum() * 0.0
        return {"loss": ent_loss + rel_weight * rel_loss, "entity_loss": ent_loss, "relation_loss": rel_loss}

    # ---- inference ----------------------------------------------------------------------------------
    def _candidates(
        self, docs: list[Doc], gold_entities: bool
    ) -> tuple[list[int], list[int], list[int], list[int]]:
        cb, cs, ce, ct = [], [], [], []
        w_max = self.cfg.max_span_width
        for b, d in enumerate(docs):
            if gold_entities:
                seen = set()
                for ws, we, t in d.ents:
                    if (ws, we, t) not in seen:
                        seen.add((ws, we, t))
                        cb.append(b)
                        cs.append(ws)
                        ce.append(we)
                        ct.append(t)
            else:
                for s in range(d.n_words):
                    for w in range(1, min(w_max, d.n_words - s) + 1):
                        cb.append(b)
                        cs.append(s)
                        ce.append(s + w)
                        ct.append(-1)
        return cb, cs, ce, ct

    @torch.inference_mode()
    def predict_docs(
        self, docs: list[Doc], *, gold_entities: bool = False, mc_samples: int = 0, calibration: bool = False
    ) -> list[RawPrediction]:
        cfg = self.cfg
        enc = self.encode(docs)
        dev = enc.words.device
        emb = self.sentence_embeddings(enc).float().cpu()
        out = [RawPrediction(embedding=emb[b].tolist()) for b in range(len(docs))]
        cb, cs, ce, ct = self._candidates(docs, gold_entities)
        b_t = torch.tensor(cb, dtype=torch.long, device=dev)
        s_t = torch.tensor(cs, dtype=torch.long, device=dev)
        e_t = torch.tensor(ce, dtype=torch.long, device=dev)
        n_spans = len(cb)

        # entity classification over all candidate spans, in chunks
        if gold_entities:
            keep = torch.arange(n_spans, device=dev)
            k_type = torch.tensor(ct, dtype=torch.long, device=dev)
            k_score = torch.ones(n_spans, device=dev)
            k_raw = k_score
        else:
            chunks, mc_chunks = [], []
            for c in range(0, n_spans, cfg.span_chunk):
                sl = slice(c, c + cfg.span_chunk)
                chunks.append(self._ent_logits_factored(enc, b_t[sl], s_t[sl], e_t[sl]).float())
                if mc_samples:
                    rep = self._span_repr(enc, b_t[sl], s_t[sl], e_t[sl])
                    mc_chunks.append(
                        torch.stack(
                            [self._ent_logits(enc, rep, b_t[sl], mc=True).float() for _ in range(mc_samples)]
                        )
                    )
            logits = torch.cat(chunks) if chunks else torch.zeros((0, self.n_ent + 1), device=dev)
            ent_probs = torch.softmax(logits / self.entity_temperature, dim=-1)  # [S, n_ent + 1]
            pred = logits.argmax(-1)
            if cfg.ent_threshold > 0:
                best_p, best_t = torch.softmax(logits, -1)[:, 1:].max(-1)  # [S] best entity type
                pred = torch.where(best_p >= cfg.ent_threshold, best_t + 1, torch.zeros_like(pred))
            keep = (pred > 0).nonzero().squeeze(-1)
            k_type = pred[keep] - 1
            k_score = ent_probs[keep, pred[keep]]
            k_raw = torch.softmax(logits[keep], dim=-1).gather(1, pred[keep].unsqueeze(1)).squeeze(1)
            ent_u = categorical_uncertainty(ent_probs)
            ent_bald = bald_categorical(torch.softmax(torch.cat(mc_chunks, 1), -1)) if mc_samples else None
            if calibration:
                gold_maps = [{(ws, we): t + 1 for ws, we, t in d.ents} for d in docs]
                gold_lab = [gold_maps[b].get((s, e), 0) for b, s, e in zip(cb, cs, ce, strict=True)]
                lab_t = torch.tensor(gold_lab, dtype=torch.long)
        # kept entities per doc
        kb, ks, ke = b_t[keep], s_t[keep], e_t[keep]
        per_doc: list[list[int]] = [[] for _ in docs]  # indices into kept
        for i, b in enumerate(kb.tolist()):
            per_doc[b].append(i)
        ks_l, ke_l, kt_l, kscore_l = ks.tolist(), ke.tolist(), k_type.tolist(), k_score.tolist()
        for b, idx in enumerate(per_doc):
            out[b].ents = [(ks_l[i], ke_l[i], kt_l[i], float(kscore_l[i])) for i in idx]

        # relation candidates: ordered pairs of kept entities in the same doc
        pair_b, pair_h, pair_t, pair_local = [], [], [], []
        for b, idx in enumerate(per_doc):
            for a, i in enumerate(idx):
                for c, j in enumerate(idx):
                    if i != j:
                        pair_b.append(b)
                        pair_h.append(i)
                        pair_t.append(j)
                        pair_local.append((a, c))
        n_pairs = len(pair_b)
        rel_logits = raw = cal = allowed = rel_bald = rel_score = arg_prob = None
        if n_pairs and self.n_rel:
            k_rep = self._span_repr(enc, kb, ks, ke)  # [K, span_dim]
            pb_t = torch.tensor(pair_b, dtype=torch.long, device=dev)
            ph_t = torch.tensor(pair_h, dtype=torch.long, device=dev)
            pt_t = torch.tensor(pair_t, dtype=torch.long, device=dev)
            rl = [
                self._rel_logits_factored(
                    enc, k_rep, k_type, (ks, ke), pb_t, ph_t, pt_t, cfg.rel_chunk
                ).float()
            ]
            rmc = []
            for c in range(0, n_pairs if mc_samples else 0, cfg.rel_chunk):
                sl = slice(c, c + cfg.rel_chunk)
                h, t = ph_t[sl], pt_t[sl]
                args = (
                    enc,
                    pb_t[sl],
                    k_rep[h],
                    k_rep[t],
                    (ks[h], ke[h]),
                    (ks[t], ke[t]),
                    k_type[h],
                    k_type[t],
                )
                if mc_samples:
                    rmc.append(
                        torch.stack(
                            [
                                torch.sigmoid(self._rel_logits(*args, mc=True).float())
                                for _ in range(mc_samples)
                            ]
                        )
                    )
            rel_logits = torch.cat(rl)  # [P, n_rel]
            allowed = rel_logits > -1e3
            raw = torch.sigmoid(rel_logits)
            cal = torch.sigmoid(rel_logits / self.relation_temperature)
            # reported score ~ P(triple correct) = P(rel | args) * P(head) * P(tail), args uncalibrated;
            # the relation temperature is fitted for exactly this product (see mlcore.calibration)
            arg_prob = k_raw[ph_t] * k_raw[pt_t]  # [P]
            rel_score = cal * arg_prob.unsqueeze(1)
            rel_bald = bald_binary(torch.cat(rmc, 1)) if mc_samples else None

        # per-doc assembly
        pair_by_doc: list[list[int]] = [[] for _ in docs]
        for p, b in enumerate(pair_b):
            pair_by_doc[b].append(p)
        span_by_doc: list[list[int]] = [[] for _ in docs]
        if not gold_entities:
            for i, b in enumerate(cb):
                span_by_doc[b].append(i)
        sym = [r.symmetric for r in self.schema.relation_types]
        for b, d in enumerate(docs):
            ps = pair_by_doc[b]
            rels: dict[tuple[int, int, int], float] = {}
            if ps and raw is not None:
                assert allowed is not None and rel_score is not None  # set with raw
                p_idx = torch.tensor(ps, dtype=torch.long, device=dev)
                hits = (raw[p_idx] >= cfg.rel_threshold) & allowed[p_idx]
                for pi, r in hits.nonzero().tolist():
                    a, c = pair_local[ps[pi]]
                    score = float(rel_score[ps[pi], r])
                    if sym[r]:
                        ea, ec = out[b].ents[a], out[b].ents[c]
                        if (ec[0], ec[1], ec[2]) < (ea[0], ea[1], ea[2]):
                            a, c = c, a
                    key = (a, c, r)
                    rels[key] = max(score, rels.get(key, 0.0))
            out[b].rels = [(a, c, r, s) for (a, c, r), s in sorted(rels.items())]
            unc: dict[str, float] = {}
            if not gold_entities:
                sp = torch.tensor(span_by_doc[b], dtype=torch.long, device=dev)
                unc.update(summarise_uncertainty("entity", {k: v[sp] for k, v in ent_u.items()}, d.n_words))
                if ent_bald is not None:
                    unc["entity_bald_norm"] = float(ent_bald[sp].sum()) / max(1, d.n_words)
            if ps and raw is not None:
                assert allowed is not None and cal is not None  # set with raw
                p_idx = torch.tensor(ps, dtype=torch.long, device=dev)
                ok = allowed[p_idx]
                ru = binary_uncertainty(cal[p_idx][ok])
                unc.update(summarise_uncertainty("relation", ru, d.n_words))
                if rel_bald is not None:
                    unc["relation_bald_norm"] = float(rel_bald[p_idx][ok].sum()) / max(1, d.n_words)
            else:
                unc.update(summarise_uncertainty("relation", None, d.n_words))
            if mc_samples:
                unc["bald"] = unc.get("entity_bald_norm", 0.0) + unc.get("relation_bald_norm", 0.0)
            unc["score"] = unc.get("entity_entropy_norm", 0.0) + unc.get("relation_entropy_norm", 0.0)
            out[b].uncertainty = unc

        if calibration:
            cal_data: dict[str, Any] = {}
            if not gold_entities:
                # fitted on the spans the model outputs as mentions: their scores are what users see
                keep_cpu = keep.cpu()
                cal_data["entity_logits"] = logits[keep].cpu()
                cal_data["entity_labels"] = lab_t[keep_cpu]
            if rel_logits is not None:
                assert raw is not None and allowed is not None and arg_prob is not None  # set with rel_logits
                pred_hits = ((raw >= cfg.rel_threshold) & allowed).nonzero().tolist()  # predicted (pair, type)
                gold_keys = [_gold_rel_keys(d, sym) for d in docs]
                correct = []
                for p, r in pred_hits:
                    b, (a, c) = pair_b[p], pair_local[p]
                    ea, ec = out[b].ents[a], out[b].ents[c]
                    correct.append((ea[:3], ec[:3], r) in gold_keys[b])
                hit_idx = torch.tensor(pred_hits, dtype=torch.long, device=dev).reshape(-1, 2)
                cal_data["relation_logits"] = rel_logits[hit_idx[:, 0], hit_idx[:, 1]].cpu()
                cal_data["relation_arg_probs"] = arg_prob[hit_idx[:, 0]].cpu()
                cal_data["relation_labels"] = torch.tensor(correct, dtype=torch.bool)
            out[0].calibration = cal_data
        return out


def _gold_rel_keys(doc: Doc, sym: list[bool]) -> set:
    """Gold relations as ((ws, we, type), (ws, we, type), rel) keys; symmetric ones in both orders."""
    keys = set()
    for h, t, r in doc.rels:
        keys.add((doc.ents[h], doc.ents[t], r))
        if sym[r]:
            keys.add((doc.ents[t], doc.ents[h], r))
    return keys
