"""``deep.v1``: shared and task-specific BiRNN stacks over the encoder (after Crone, 2020, "Deeper
task-specificity improves joint entity and relation extraction").

Words (max-pooled wordpieces) pass through ``shared_layers`` bidirectional GRU/LSTM layers, then through a
NER-specific and a RE-specific stack (``ner_layers`` / ``re_layers``; zero layers = identity).

* NER: an FFNN (``ner_ffnn_layers`` hidden layers with the configured activation) gives emissions over
  BIOES tags, decoded by a linear-chain CRF (Viterbi); tag codec and CRF are those of ``tagger.v1``.
* RE: each entity is the RE-stack state of its last word concatenated with an embedding of its type (gold
  in training, predicted at inference). For every relation type r and ordered pair (head, tail):
  ``DistMult(h, t; w_r) + cos(a_r(h), b_r(t)) + FFNN([h; t])_r`` on FFNN projections of the two entity
  vectors; a sigmoid per type against ``rel_threshold``, trained with binary cross-entropy over all pairs
  of gold entities (related pairs + at most ``max_neg_pairs`` unrelated pairs per sentence). The RE loss
  is weighted by ``rel_loss_weight`` (lambda) on top of the training loop's ``rel_weight`` ramp.
* Relation types whose (head type, tail type) the schema forbids are masked; symmetric types are reported
  once per unordered pair (arguments in span order).

Nested/overlapping gold mentions cannot all be tagged: for training they are reduced by ``tagger.v1``'s
rule *longest first* (:func:`mlcore.archs.tagger.reduce_nested`): mentions sorted by (length descending,
start), each kept unless it overlaps one already kept; relations with a dropped argument are dropped from
training. Evaluation always uses all gold.

``freeze_encoder=True`` is the paper's setting (pretrained embeddings, not fine-tuned): the encoder's
parameters get ``requires_grad=False`` (the training loop leaves them out of the optimizer), it runs
without grad and stays in eval mode (no dropout). The default fine-tunes, as the other architectures do.
MC dropout (BALD) resamples dropout in the task heads (FFNNs and relation scorer) over fixed RNN states.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..alignment import Doc
from ..encoder import WindowedEncoder
from ..types import Schema
from .base import (
    Encoded,
    JointModel,
    RawPrediction,
    bald_binary,
    bald_categorical,
    binary_uncertainty,
    categorical_uncertainty,
    finish_uncertainty,
    gold_relation_sets,
    item_uncertainty,
    items_by_doc,
    relations_by_doc,
    word_uncertainty,
)
from .tagger import CRF, best_tag_paths, decode_tags, encode_tags, reduce_nested, tag_names

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "tanh": torch.tanh,
}


@dataclass
class DeepConfig:
    """Hyperparameters of ``deep.v1`` (stored in the checkpoint)."""

    rnn: str = "gru"  # or "lstm"
    rnn_hidden: int = 128  # per direction
    shared_layers: int = 1
    ner_layers: int = 1  # NER-specific BiRNN layers (0: identity)
    re_layers: int = 1  # RE-specific BiRNN layers (0: identity)
    activation: str = "relu"  # of every FFNN: "relu", "gelu" or "tanh"
    ner_hidden: int = 128
    ner_ffnn_layers: int = 2  # hidden layers before the emission layer
    label_dim: int = 25  # entity-type embedding concatenated to the RE state
    rel_dim: int = 128  # DistMult / cosine projection size and pair-FFNN hidden size
    dropout: float = 0.1
    rel_threshold: float = 0.5  # on the uncalibrated sigmoid; calibration only changes reported scores
    rel_loss_weight: float = 1.0  # lambda
    max_neg_pairs: int = 100  # unrelated gold pairs sampled per sentence in training
    freeze_encoder: bool = False  # True: the paper's setting
    rel_chunk: int = 4096  # relation candidates per scorer call at inference (bounds memory)
    max_wordpieces: int | None = None
    window_overlap: int | None = None


class _MLP(nn.Module):
    """[dropout -> Linear -> act] x len(hidden) -> dropout -> Linear; ``mc=True`` keeps dropout on."""

    def __init__(self, d_in: int, d_out: int, hidden: list[int], activation: str, dropout: float):
        super().__init__()
        dims = [d_in, *hidden]
        linears = [nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)]
        self.layers = nn.ModuleList(linears)
        self.out = nn.Linear(dims[-1], d_out)
        self.act = _ACTIVATIONS[activation]
        self.p = dropout
        # Variance-preserving initialisation. PyTorch's default Linear init shrinks the variance ~3x per
        # layer (6x with a ReLU): two hidden layers over BiRNN states made the emissions so flat that the
        # CRF settled on all-O (0 dev entities after 3 epochs on 1,000 Chia sentences).
        for layer in linears:
            if activation == "tanh":
                nn.init.xavier_normal_(layer.weight, gain=nn.init.calculate_gain("tanh"))
            else:  # relu, gelu
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        nn.init.xavier_normal_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, mc: bool = False) -> torch.Tensor:
        drop = self.training or mc
        for layer in self.layers:
            x = self.act(layer(F.dropout(x, self.p, drop)))
        return self.out(F.dropout(x, self.p, drop))


class _BiRNN(nn.Module):
    """A bidirectional GRU/LSTM stack over padded sequences; zero layers = identity."""

    def __init__(self, kind: str, d_in: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.p = dropout
        self.out_dim = 2 * hidden if layers else d_in
        self.rnn: nn.Module | None = None
        if layers:
            cls = nn.GRU if kind == "gru" else nn.LSTM
            self.rnn = cls(
                d_in,
                hidden,
                num_layers=layers,
                batch_first=True,
                bidirectional=True,
                dropout=dropout if layers > 1 else 0.0,
            )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x [B, N, D], lengths [B] (cpu, >= 1) -> [B, N, out_dim] (zeros past each length)."""
        if self.rnn is None:
            return x
        x = F.dropout(x, self.p, self.training).to(next(self.rnn.parameters()).dtype)  # bf16 under autocast
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out


class RelationScorer(nn.Module):
    """Per relation type r: DistMult + cosine + FFNN over [head; tail] on entity vectors (Crone, 2020).

    Everything that depends on one argument is computed once per entity; per pair only products and the
    FFNN's hidden layer, in chunks.
    """

    def __init__(self, d_in: int, n_rel: int, dim: int, activation: str, dropout: float):
        super().__init__()
        self.n_rel, self.dim = n_rel, dim
        self.dm_head = _MLP(d_in, dim, [dim], activation, dropout)
        self.dm_tail = _MLP(d_in, dim, [dim], activation, dropout)
        self.dm_rel = nn.Parameter(torch.empty(n_rel, dim))  # diag(w_r) of DistMult
        nn.init.xavier_uniform_(self.dm_rel)
        self.cos_head = _MLP(d_in, n_rel * dim, [dim], activation, dropout)
        self.cos_tail = _MLP(d_in, n_rel * dim, [dim], activation, dropout)
        # FFNN([h; t]): the first layer is split into its head and tail halves (same function)
        self.pair_head = nn.Linear(d_in, dim)
        self.pair_tail = nn.Linear(d_in, dim, bias=False)
        self.pair_out = nn.Linear(dim, n_rel)
        self.act = _ACTIVATIONS[activation]
        self.p = dropout

    def entity_parts(self, z: torch.Tensor, mc: bool = False) -> dict[str, torch.Tensor]:
        """Per-entity projections of z [K, d_in]."""
        k = z.shape[0]
        zd = F.dropout(z, self.p, self.training or mc)
        return {
            "dm_h": self.dm_head(z, mc=mc),  # [K, D]
            "dm_t": self.dm_tail(z, mc=mc),
            "cos_h": F.normalize(self.cos_head(z, mc=mc).view(k, self.n_rel, self.dim), dim=-1),  # [K, R, D]
            "cos_t": F.normalize(self.cos_tail(z, mc=mc).view(k, self.n_rel, self.dim), dim=-1),
            "pair_h": self.pair_head(zd),  # [K, D]
            "pair_t": self.pair_tail(zd),
        }

    def pair_logits(
        self, parts: dict[str, torch.Tensor], hi: torch.Tensor, ti: torch.Tensor, mc: bool = False
    ) -> torch.Tensor:
        """Logits [P, R] for pairs (head entity hi, tail entity ti), both [P] indices into the entities."""
        dm = (parts["dm_h"][hi] * parts["dm_t"][ti]) @ self.dm_rel.to(parts["dm_h"].dtype).T  # [P, R]
        cos = (parts["cos_h"][hi] * parts["cos_t"][ti]).sum(-1)  # [P, R]
        hid = self.act(parts["pair_h"][hi] + parts["pair_t"][ti])  # [P, D]
        ffnn = self.pair_out(F.dropout(hid, self.p, self.training or mc))  # [P, R]
        return dm + cos + ffnn

    def forward(
        self,
        z: torch.Tensor,  # [K, d_in] entity vectors
        hi: torch.Tensor,  # [P] head index into z
        ti: torch.Tensor,  # [P] tail index into z
        allowed: torch.Tensor,  # [P, R] bool: the schema allows type r for this pair
        mc: bool = False,
        chunk: int = 4096,
    ) -> torch.Tensor:
        """Logits [P, R]; forbidden (pair, type) entries are -1e4 (sigmoid ~ 0)."""
        parts = self.entity_parts(z, mc=mc)
        out = [
            self.pair_logits(parts, hi[c : c + chunk], ti[c : c + chunk], mc=mc).masked_fill(
                ~allowed[c : c + chunk], -1e4
            )
            for c in range(0, hi.shape[0], chunk)
        ]
        return torch.cat(out) if out else z.new_zeros((0, self.n_rel))


class DeepModel(JointModel):
    arch_name = "deep.v1"

    def __init__(self, cfg: DeepConfig, schema: Schema, encoder: WindowedEncoder):
        super().__init__(schema, encoder)
        if cfg.rnn not in ("gru", "lstm"):
            raise ValueError(f"rnn must be 'gru' or 'lstm', not {cfg.rnn!r}")
        if cfg.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, not {cfg.activation!r}")
        for name in ("shared_layers", "ner_layers", "re_layers", "ner_ffnn_layers", "max_neg_pairs"):
            if getattr(cfg, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        self.cfg = cfg
        self.tags = tag_names(self.n_ent, "BIOES")
        self.tag_index = {t: i for i, t in enumerate(self.tags)}
        h = encoder.hidden_size
        self.shared_rnn = _BiRNN(cfg.rnn, h, cfg.rnn_hidden, cfg.shared_layers, cfg.dropout)
        d = self.shared_rnn.out_dim
        self.ner_rnn = _BiRNN(cfg.rnn, d, cfg.rnn_hidden, cfg.ner_layers, cfg.dropout)
        self.re_rnn = _BiRNN(cfg.rnn, d, cfg.rnn_hidden, cfg.re_layers, cfg.dropout)
        self.ner_head = _MLP(
            self.ner_rnn.out_dim,
            len(self.tags),
            [cfg.ner_hidden] * cfg.ner_ffnn_layers,
            cfg.activation,
            cfg.dropout,
        )
        self.crf = CRF(len(self.tags))
        self.label_emb = nn.Embedding(self.n_ent, cfg.label_dim)
        self.scorer = RelationScorer(
            self.re_rnn.out_dim + cfg.label_dim, max(1, self.n_rel), cfg.rel_dim, cfg.activation, cfg.dropout
        )
        if cfg.freeze_encoder:
            for p in self.encoder.parameters():
                p.requires_grad_(False)

    # ---- pieces -------------------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> DeepModel:
        super().train(mode)
        if self.cfg.freeze_encoder:
            self.encoder.eval()  # a fixed feature extractor: no dropout noise
        return self

    def encode_tags(self, n: int, ents: list[tuple[int, int, int]]) -> list[int]:
        return encode_tags(self.tag_index, n, ents, True)

    def decode_tags(self, tags: list[int]) -> list[tuple[int, int, int]]:
        return decode_tags(self.tags, tags)

    def _encode(self, docs: list[Doc]) -> Encoded:
        if self.cfg.freeze_encoder:
            with torch.no_grad():
                return self.encode(docs)
        return self.encode(docs)

    def _states(self, enc: Encoded) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(NER states [B, N, Dn], RE states [B, N, Dr], word mask [B, N])."""
        lengths = torch.tensor(enc.n_words, dtype=torch.long)
        n_max = enc.words.shape[1]
        mask = (torch.arange(n_max).unsqueeze(0) < lengths.unsqueeze(1)).to(enc.words.device)
        shared = self.shared_rnn(enc.words, lengths)
        return self.ner_rnn(shared, lengths), self.re_rnn(shared, lengths), mask

    def _entity_vectors(
        self, re_h: torch.Tensor, eb: list[int], ew: list[int], et: list[int]
    ) -> torch.Tensor:
        """[K, Dr + label_dim]: RE state of each entity's last word (seq eb, word ew) + type embedding."""
        dev = re_h.device
        lt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
        z = re_h[lt(eb), lt(ew)]
        return torch.cat([z, self.label_emb(lt(et)).to(z.dtype)], -1)

    # ---- training -----------------------------------------------------------------------------------------
    def loss(self, docs: list[Doc], rng: random.Random, rel_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """CRF NLL (mean over sentences) + lambda * rel_weight * relation BCE (sum over types, mean over pairs)."""
        enc = self._encode(docs)
        ner_h, re_h, mask = self._states(enc)
        dev = enc.words.device
        gold_tags = torch.zeros(mask.shape, dtype=torch.long)
        eb: list[int] = []  # kept gold entities of the batch: sequence, last word, type
        ew: list[int] = []
        et: list[int] = []
        ph: list[int] = []  # pairs: head and tail index into the batch's entities, multi-hot target
        pt: list[int] = []
        ptarget: list[list[float]] = []
        sym = [r.symmetric for r in self.schema.relation_types]
        for b, d in enumerate(docs):
            keep = reduce_nested(d.ents)
            remap = {old: new for new, old in enumerate(keep)}
            ents = [d.ents[i] for i in keep]
            gold_tags[b, : d.n_words] = torch.tensor(self.encode_tags(d.n_words, ents), dtype=torch.long)
            base = len(eb)
            for _, e, t in ents:
                eb.append(b)
                ew.append(e - 1)
                et.append(t)
            pos: dict[tuple[int, int], set[int]] = defaultdict(set)
            for h, t, r in d.rels:
                if h in remap and t in remap:
                    pos[(remap[h], remap[t])].add(r)
                    if sym[r]:
                        pos[(remap[t], remap[h])].add(r)
            g = len(ents)
            negs = [(i, j) for i in range(g) for j in range(g) if i != j and (i, j) not in pos]
            if len(negs) > self.cfg.max_neg_pairs:
                negs = rng.sample(negs, self.cfg.max_neg_pairs)
            for (i, j), rs in [*pos.items(), *((p, set()) for p in negs)]:
                multi_hot = [0.0] * max(1, self.n_rel)
                for r in rs:
                    multi_hot[r] = 1.0
                ph.append(base + i)
                pt.append(base + j)
                ptarget.append(multi_hot)
        em = self.ner_head(ner_h).float()  # [B, N, T]
        ent_loss = self.crf.nll(em, gold_tags.to(dev), mask)
        if ph and self.n_rel:
            z = self._entity_vectors(re_h, eb, ew, et)  # [K, Dr + label_dim]
            lt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
            hi, ti, types = lt(ph), lt(pt), lt(et)
            allowed = self.allowed[types[hi], types[ti]]  # [P, R]
            logits = self.scorer(z, hi, ti, allowed, chunk=max(1, hi.shape[0]))
            target = torch.tensor(ptarget, dtype=torch.float32, device=dev)
            bce = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
            rel_loss = (bce * allowed.float()).sum(-1).mean()
        else:
            rel_loss = em.sum() * 0.0
        total = ent_loss + rel_weight * self.cfg.rel_loss_weight * rel_loss
        return {"loss": total, "entity_loss": ent_loss, "relation_loss": rel_loss}

    # ---- inference ----------------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_docs(
        self, docs: list[Doc], *, gold_entities: bool = False, mc_samples: int = 0, calibration: bool = False
    ) -> list[RawPrediction]:
        cfg = self.cfg
        enc = self.encode(docs)
        ner_h, re_h, mask = self._states(enc)
        dev = enc.words.device
        emb = self.sentence_embeddings(enc).float().cpu()
        out = [RawPrediction(embedding=emb[b].tolist()) for b in range(len(docs))]
        b_n, n_max = len(docs), enc.words.shape[1]

        # entities: CRF over emissions; signals from the per-word tag softmax (as tagger.v1)
        em = self.ner_head(ner_h).float()  # [B, N, T]
        probs = torch.softmax(em / self.entity_temperature, -1)
        tag_u = categorical_uncertainty(probs.reshape(-1, probs.shape[-1]))
        tag_bald = None
        if mc_samples and not gold_entities:
            samples = torch.stack(
                [torch.softmax(self.ner_head(ner_h, mc=True).float(), -1) for _ in range(mc_samples)]
            )  # [K, B, N, T]
            tag_bald = bald_categorical(samples.reshape(mc_samples, -1, samples.shape[-1])).view(b_n, n_max)
        ent_raw: list[list[float]] = []  # uncalibrated entity scores (inputs to relation scores)
        if gold_entities:
            ents = [sorted({(s, e, t) for s, e, t in d.ents}, key=d.ents.index) for d in docs]
            ent_raw = [[1.0] * len(es) for es in ents]
            for b, es in enumerate(ents):
                out[b].ents = [(s, e, t, 1.0) for s, e, t in es]
        else:
            paths, tags = best_tag_paths(em, mask, self.crf, [d.n_words for d in docs])
            ents = [self.decode_tags(p) for p in paths]
            tag_p = probs.gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # [B, N] calibrated prob of chosen tag
            raw_p = torch.softmax(em, -1).gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # [B, N] uncalibrated
            for b, es in enumerate(ents):
                out[b].ents = [(s, e, t, float(tag_p[b, s:e].mean())) for s, e, t in es]
                ent_raw.append([float(raw_p[b, s:e].mean()) for s, e, _ in es])

        # relations: all ordered pairs of entities of the same doc
        eb: list[int] = []  # flat entities: sequence, last word, type; first[b]: doc b's first entity
        ew: list[int] = []
        et: list[int] = []
        first: list[int] = []
        for b, es in enumerate(ents):
            first.append(len(eb))
            for _, e, t in es:
                eb.append(b)
                ew.append(e - 1)
                et.append(t)
        pb: list[int] = []  # pairs: doc, head and tail index within the doc
        pi: list[int] = []
        pj: list[int] = []
        for b, es in enumerate(ents):
            for i in range(len(es)):
                for j in range(len(es)):
                    if i != j:
                        pb.append(b)
                        pi.append(i)
                        pj.append(j)
        sym = [r.symmetric for r in self.schema.relation_types]
        rel_logits = raw = cal_p = allowed = rel_bald = arg_prob = None
        if pb and self.n_rel:
            lt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
            z = self._entity_vectors(re_h, eb, ew, et)  # [K, Dr + label_dim]
            hi = lt([first[b] + i for b, i in zip(pb, pi, strict=True)])
            ti = lt([first[b] + j for b, j in zip(pb, pj, strict=True)])
            types = lt(et)
            allowed = self.allowed[types[hi], types[ti]]  # [P, R]
            rel_logits = self.scorer(z, hi, ti, allowed, chunk=cfg.rel_chunk).float()  # [P, R]
            raw = torch.sigmoid(rel_logits)
            cal_p = torch.sigmoid(rel_logits / self.relation_temperature)
            if mc_samples:
                mc = [
                    self.scorer(z, hi, ti, allowed, mc=True, chunk=cfg.rel_chunk) for _ in range(mc_samples)
                ]
                rel_bald = bald_binary(torch.sigmoid(torch.stack(mc).float()))  # [P, R]
            # reported score ~ P(triple correct) = P(rel | args) * P(head) * P(tail) (see mlcore.calibration)
            arg_prob = torch.tensor(
                [ent_raw[b][i] * ent_raw[b][j] for b, i, j in zip(pb, pi, pj, strict=True)], device=dev
            )  # [P]
        hits: list[list[int]] = []
        if raw is not None:
            assert allowed is not None  # set with raw
            hits = ((raw >= cfg.rel_threshold) & allowed).nonzero().tolist()
        triples: list[tuple[int, int, int, int, float]] = []
        if hits:
            assert cal_p is not None and arg_prob is not None  # hits come from raw, set with them
            triples = [(pb[p], pi[p], pj[p], r, float(cal_p[p, r] * arg_prob[p])) for p, r in hits]
        for b, rels in enumerate(relations_by_doc(len(docs), triples, ents, sym)):
            out[b].rels = rels

        # relation signals over the allowed (pair, type) cells of each doc
        rel_u = cell_bald = None
        cell_doc: list[int] = []
        if cal_p is not None:
            assert allowed is not None  # set with cal_p
            cells = allowed.nonzero()  # [C, 2] (pair, type)
            cell_doc = [pb[p] for p in cells[:, 0].tolist()]
            rel_u = binary_uncertainty(cal_p[allowed])
            cell_bald = rel_bald[allowed] if rel_bald is not None else None
        cells_of = items_by_doc(cell_doc)
        for b, d in enumerate(docs):
            unc = {} if gold_entities else word_uncertainty(tag_u, tag_bald, b, n_max, d.n_words)
            unc.update(item_uncertainty(rel_u, cell_bald, cells_of.get(b, []), d.n_words))
            out[b].uncertainty = finish_uncertainty(unc, mc_samples)

        if calibration and docs:
            cal: dict[str, Any] = {}
            if not gold_entities:
                # fitted on the words of predicted mentions: their scores are what users see
                sel = torch.zeros_like(mask)
                for b, es in enumerate(ents):
                    for st, en, _ in es:
                        sel[b, st:en] = True
                gold_tags = torch.zeros((b_n, n_max), dtype=torch.long, device=dev)
                for b, d in enumerate(docs):
                    red = reduce_nested(d.ents)
                    gold_tags[b, : d.n_words] = torch.tensor(
                        self.encode_tags(d.n_words, [d.ents[i] for i in red]), dtype=torch.long
                    )
                cal["entity_logits"] = em[sel].cpu()
                cal["entity_labels"] = gold_tags[sel].cpu()
            if rel_logits is not None:
                # sigmoid heads (as span.v1): one logit per predicted (pair, type), no relation_index
                gold_sets = gold_relation_sets(docs, sym)
                assert arg_prob is not None  # set with rel_logits
                idx = torch.tensor(hits, dtype=torch.long, device=dev).reshape(-1, 2)
                cal["relation_logits"] = rel_logits[idx[:, 0], idx[:, 1]].cpu()
                cal["relation_arg_probs"] = arg_prob[idx[:, 0]].cpu()
                cal["relation_labels"] = torch.tensor(
                    [(ents[pb[p]][pi[p]], ents[pb[p]][pj[p]], r) in gold_sets[pb[p]] for p, r in hits],
                    dtype=torch.bool,
                )
            out[0].calibration = cal
        return out
