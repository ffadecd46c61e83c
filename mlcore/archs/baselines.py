"""Standalone baselines that Chen et al. (2020) compare the joint tagger (``tagger.v1``) against.

* ``ner.v1`` — NER alone: the encoder and ``tagger.v1``'s token tagger (softmax or linear-chain CRF over
  BIOES/BIO tags; tag codec, logits and CRF are ``tagger.v1``'s own), no relation head. It predicts no
  relations, so its relation F1 is 0 by construction.
* ``re.v1`` — RE alone on *gold* entities: the encoder, head and tail FFNN projections of the word state
  at each entity's last word, summed, GELU, then a linear layer and a softmax over the relation types and
  NEG (Chen et al.'s RE-M1), over ordered entity pairs. It has no entity recogniser of its own:
  ``predict_docs(gold_entities=True)`` classifies pairs of the document's gold entities; without gold
  entities it predicts **no mentions and no relations** (its end-to-end scores are 0; the end-to-end
  figures of standalone RE are those of ``pipeline.v1``). Its uncertainty then holds the entity and
  relation keys at their "nothing to be unsure about" values.
* ``pipeline.v1`` — standalone NER feeding standalone RE: the two models above with **separate encoders**
  (no shared parameter), trained in one training loop on the sum of their losses. With disjoint
  parameters and AdamW (per-parameter statistics) that is training them separately, except that the loop
  clips the *global* gradient norm over both models together and that both draw dropout masks and NEG
  samples from the same random streams. At inference NER predicts the mentions and RE classifies the
  pairs of predicted mentions (of gold mentions with ``gold_entities=True``).

Scores, uncertainty keys, sentence embeddings and calibration data have the same meaning as in
``tagger.v1`` (mention score: mean calibrated probability of its tags; relation score: calibrated
P(relation) times the uncalibrated probabilities of its two arguments), so workers, the active-learning
queue and temperature scaling work unchanged. The pipeline's sentence embedding comes from its NER
encoder.

The training loop's ``rel_weight`` ramp (``relation_warmup_epochs``) is ignored by all three: a
standalone model has no other task to pre-train first, and weighting one sub-model's loss would make the
pipeline differ from separate training. ``re.v1`` keeps the last epoch (``select_best=False``): dev
selection uses end-to-end relation F1, which is always 0 for RE alone.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..alignment import Doc
from ..encoder import WindowedEncoder
from ..types import Schema
from .base import (
    FFNN,
    Encoded,
    JointModel,
    RawPrediction,
    bald_categorical,
    categorical_uncertainty,
    finish_uncertainty,
    item_uncertainty,
    items_by_doc,
    softmax_relation_calibration,
    softmax_relations,
    summarise_uncertainty,
    word_uncertainty,
)
from .tagger import CRF, TaggerConfig, TaggerModel, best_tag_paths, reduce_nested

PAIR_CHUNK = 4096  # relation candidates scored per chunk at inference (caps memory)


# ---- configs ------------------------------------------------------------------------------------------------
@dataclass
class NerConfig:
    """Hyperparameters of ``ner.v1`` (stored in the checkpoint)."""

    scheme: str = "BIOES"  # or "BIO"
    crf: bool = False
    dropout: float = 0.1
    max_wordpieces: int | None = None
    window_overlap: int | None = None


@dataclass
class ReConfig:
    """Hyperparameters of ``re.v1`` (stored in the checkpoint)."""

    proj_dim: int = 128  # head/tail projection size
    dropout: float = 0.1
    max_neg_pairs: int = 200  # NEG pairs sampled per sentence in training
    max_wordpieces: int | None = None
    window_overlap: int | None = None

    # end-to-end dev relation F1 (what epoch selection uses) is always 0 without an entity recogniser
    train_defaults: ClassVar[dict[str, Any]] = {"select_best": False}


@dataclass
class PipelineConfig:
    """Hyperparameters of ``pipeline.v1``: those of ``ner.v1`` and ``re.v1`` (dropout is shared)."""

    scheme: str = "BIOES"
    crf: bool = False
    proj_dim: int = 128
    dropout: float = 0.1
    max_neg_pairs: int = 200
    max_wordpieces: int | None = None
    window_overlap: int | None = None


# ---- per-part outputs ----------------------------------------------------------------------------------------
@dataclass
class EntityOutput:
    """Mentions predicted for a batch, per doc."""

    ents: list[list[tuple[int, int, int]]]  # (word start, word end, type idx)
    scores: list[list[float]]  # calibrated mention scores
    raw: list[list[float]]  # uncalibrated mention scores (inputs to relation scores)
    uncertainty: list[dict[str, float]]
    calibration: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class RelationOutput:
    """Relations predicted for a batch, per doc (argument indices into the given entity lists)."""

    rels: list[list[tuple[int, int, int, float]]]
    uncertainty: list[dict[str, float]]
    calibration: dict[str, torch.Tensor] = field(default_factory=dict)


def encode_with(encoder: WindowedEncoder, docs: list[Doc]) -> Encoded:
    """:meth:`JointModel.encode` with a given encoder (the pipeline holds two)."""
    return JointModel.encode(SimpleNamespace(encoder=encoder), docs)  # type: ignore[arg-type]


def word_mask(docs: list[Doc], n_max: int, device: torch.device) -> torch.Tensor:
    """[B, N] bool: True on each doc's words."""
    mask = torch.zeros((len(docs), n_max), dtype=torch.bool, device=device)
    for b, d in enumerate(docs):
        mask[b, : d.n_words] = True
    return mask


def gold_entity_output(docs: list[Doc]) -> EntityOutput:
    """The docs' gold entities (in ``Doc.ents`` order, as the API maps them back) with score 1."""
    ents = [list(d.ents) for d in docs]
    ones = [[1.0] * len(e) for e in ents]
    return EntityOutput(ents, ones, [list(o) for o in ones], [{} for _ in docs])


# ---- NER part ------------------------------------------------------------------------------------------------
class TagHead(nn.Module):
    """``tagger.v1``'s token tagger without its relation head.

    The tag codec and the emission layer are :class:`TaggerModel`'s own methods (they read ``cfg.scheme``,
    ``tags``, ``tag_index`` and ``tagger``, which this module provides), the CRF is its :class:`CRF`.
    """

    # borrowed, not bound to TaggerModel: they only read the attributes set in __init__
    encode_tags: Callable[..., list[int]] = TaggerModel.encode_tags
    decode_tags: Callable[..., list[tuple[int, int, int]]] = TaggerModel.decode_tags
    _tag_logits: Callable[..., torch.Tensor] = TaggerModel._tag_logits

    def __init__(self, n_ent: int, hidden: int, scheme: str, crf: bool, dropout: float):
        super().__init__()
        if scheme not in ("BIO", "BIOES"):
            raise ValueError(f"scheme must be BIO or BIOES, not {scheme!r}")
        self.cfg = TaggerConfig(scheme=scheme, crf=crf, dropout=dropout)
        # the inventory TaggerModel builds (its encode_tags/decode_tags read these names)
        prefixes = "BI" if scheme == "BIO" else "BIES"
        self.tags = ["O"] + [f"{p}-{t}" for t in range(n_ent) for p in prefixes]
        self.tag_index = {t: i for i, t in enumerate(self.tags)}
        self.tagger = FFNN(hidden, len(self.tags), 0, dropout)
        self.crf = CRF(len(self.tags)) if crf else None

    def gold_tags(self, docs: list[Doc], n_max: int, device: torch.device) -> torch.Tensor:
        """[B, N] gold tag ids (nested gold reduced longest-first, as ``tagger.v1`` trains)."""
        tags = torch.zeros((len(docs), n_max), dtype=torch.long)
        for b, d in enumerate(docs):
            kept = [d.ents[i] for i in reduce_nested(d.ents)]
            tags[b, : d.n_words] = torch.tensor(self.encode_tags(d.n_words, kept), dtype=torch.long)
        return tags.to(device)

    def loss(self, enc: Encoded, docs: list[Doc]) -> torch.Tensor:
        dev, n_max = enc.words.device, enc.words.shape[1]
        gold = self.gold_tags(docs, n_max, dev)
        mask = word_mask(docs, n_max, dev)
        em = self._tag_logits(enc.words).float()  # [B, N, T]
        if self.crf is not None:
            return self.crf.nll(em, gold, mask)
        return F.cross_entropy(em[mask], gold[mask])

    def predict(
        self, enc: Encoded, docs: list[Doc], *, temperature: float, mc_samples: int, calibration: bool
    ) -> EntityOutput:
        dev = enc.words.device
        b_n, n_max = len(docs), enc.words.shape[1]
        mask = word_mask(docs, n_max, dev)
        em = self._tag_logits(enc.words).float()  # [B, N, T]
        probs = torch.softmax(em / temperature, -1)
        tag_u = categorical_uncertainty(probs.reshape(-1, probs.shape[-1]))
        tag_bald = None
        if mc_samples:
            samples = torch.stack(
                [torch.softmax(self._tag_logits(enc.words, mc=True).float(), -1) for _ in range(mc_samples)]
            )  # [K, B, N, T]
            tag_bald = bald_categorical(samples.reshape(mc_samples, -1, samples.shape[-1])).view(b_n, n_max)
        paths, tags = best_tag_paths(em, mask, self.crf, [d.n_words for d in docs])
        ents = [self.decode_tags(p) for p in paths]
        tag_p = probs.gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # [B, N] calibrated prob of the chosen tag
        raw_p = torch.softmax(em, -1).gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # [B, N] uncalibrated
        scores = [[float(tag_p[b, s:e].mean()) for s, e, _ in es] for b, es in enumerate(ents)]
        raw = [[float(raw_p[b, s:e].mean()) for s, e, _ in es] for b, es in enumerate(ents)]
        unc = [word_uncertainty(tag_u, tag_bald, b, n_max, d.n_words) for b, d in enumerate(docs)]
        cal: dict[str, torch.Tensor] = {}
        if calibration:
            # fitted on the words of predicted mentions: their scores are what users see
            sel = torch.zeros_like(mask)
            for b, es in enumerate(ents):
                for st, en, _ in es:
                    sel[b, st:en] = True
            cal["entity_logits"] = em[sel].cpu()
            cal["entity_labels"] = self.gold_tags(docs, n_max, dev)[sel].cpu()
        return EntityOutput(ents, scores, raw, unc, cal)


# ---- RE part -------------------------------------------------------------------------------------------------
class PairHead(nn.Module):
    """Chen et al.'s standalone relation classifier over ordered pairs of entities.

    logits(head, tail) = Linear(GELU(head_proj(w_head) + tail_proj(w_tail))) over NEG + relation types,
    where w is the encoder's (max-pooled) state of the entity's last word; relation types the schema
    forbids for the pair's entity types are masked.
    """

    def __init__(self, hidden: int, n_rel: int, proj_dim: int, dropout: float, max_neg_pairs: int):
        super().__init__()
        self.n_rel = n_rel
        self.max_neg_pairs = max_neg_pairs
        self.head_proj = FFNN(hidden, proj_dim, 0, dropout)
        self.tail_proj = FFNN(hidden, proj_dim, 0, dropout)
        self.out = FFNN(proj_dim, n_rel + 1, 0, dropout)  # index 0 = NEG

    def logits(
        self,
        words: torch.Tensor,
        b: torch.Tensor,
        hw: torch.Tensor,
        tw: torch.Tensor,
        h_type: torch.Tensor,
        t_type: torch.Tensor,
        allowed: torch.Tensor,
        mc: bool = False,
    ) -> torch.Tensor:
        """[P, n_rel + 1] for pairs (head's last word hw, tail's last word tw) of sequences b."""
        summed = self.head_proj(words[b, hw], mc=mc) + self.tail_proj(words[b, tw], mc=mc)  # [P, D]
        scores = self.out(F.gelu(summed), mc=mc)
        if self.n_rel:
            ok = allowed[h_type, t_type][:, : self.n_rel]  # [P, n_rel]
            scores = torch.cat([scores[:, :1], scores[:, 1:].masked_fill(~ok, -1e4)], dim=1)
        return scores

    def loss(
        self, enc: Encoded, docs: list[Doc], rng: random.Random, allowed: torch.Tensor, sym: list[bool]
    ) -> torch.Tensor:
        """Cross-entropy over all gold related pairs plus at most ``max_neg_pairs`` NEG pairs per doc."""
        dev = enc.words.device
        pb, ph, pt, pht, ptt, plab = [], [], [], [], [], []
        for b, d in enumerate(docs):
            lab: dict[tuple[int, int], int] = {}
            for h, t, r in d.rels:
                lab.setdefault((h, t), r + 1)
                if sym[r]:
                    lab.setdefault((t, h), r + 1)
            n = len(d.ents)
            negs = [(i, j) for i in range(n) for j in range(n) if i != j and (i, j) not in lab]
            if len(negs) > self.max_neg_pairs:
                negs = rng.sample(negs, self.max_neg_pairs)
            for (i, j), y in [*lab.items(), *((p, 0) for p in negs)]:
                head, tail = d.ents[i], d.ents[j]
                pb.append(b)
                ph.append(head[1] - 1)
                pt.append(tail[1] - 1)
                pht.append(head[2])
                ptt.append(tail[2])
                plab.append(y)
        if not pb:
            return enc.words.sum() * 0.0  # keeps the graph: a batch without pairs still backpropagates
        lt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
        logits = self.logits(enc.words, lt(pb), lt(ph), lt(pt), lt(pht), lt(ptt), allowed)
        return F.cross_entropy(logits.float(), lt(plab))

    def predict(
        self,
        enc: Encoded,
        docs: list[Doc],
        ents: EntityOutput,
        *,
        allowed: torch.Tensor,
        sym: list[bool],
        temperature: float,
        mc_samples: int,
        calibration: bool,
    ) -> RelationOutput:
        dev = enc.words.device
        out_rels: list[list[tuple[int, int, int, float]]] = [[] for _ in docs]
        pb, pi, pj = [], [], []
        es = ents.ents
        for b, doc_ents in enumerate(es):
            for i in range(len(doc_ents)):
                for j in range(len(doc_ents)):
                    if i != j:
                        pb.append(b)
                        pi.append(i)
                        pj.append(j)
        if not pb or not self.n_rel:
            return RelationOutput(
                out_rels, [summarise_uncertainty("relation", None, d.n_words) for d in docs]
            )
        lt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
        bt = lt(pb)
        hw = lt([es[b][i][1] - 1 for b, i in zip(pb, pi, strict=True)])
        tw = lt([es[b][j][1] - 1 for b, j in zip(pb, pj, strict=True)])
        htp = lt([es[b][i][2] for b, i in zip(pb, pi, strict=True)])
        ttp = lt([es[b][j][2] for b, j in zip(pb, pj, strict=True)])
        chunks, mcs = [], []
        for c in range(0, len(pb), PAIR_CHUNK):
            sl = slice(c, c + PAIR_CHUNK)
            args = (enc.words, bt[sl], hw[sl], tw[sl], htp[sl], ttp[sl], allowed)
            chunks.append(self.logits(*args).float())
            if mc_samples:
                mcs.append(
                    torch.stack(
                        [torch.softmax(self.logits(*args, mc=True).float(), -1) for _ in range(mc_samples)]
                    )
                )  # [K, chunk, n_rel + 1]
        rel_logits = torch.cat(chunks)  # [P, n_rel + 1]
        rel_probs = torch.softmax(rel_logits / temperature, -1)
        rel_bald = bald_categorical(torch.cat(mcs, 1)) if mc_samples else None
        pred, arg_prob, out_rels = softmax_relations(rel_logits, rel_probs, (pb, pi, pj), ents.raw, es, sym)
        rel_u = categorical_uncertainty(rel_probs)
        pairs = items_by_doc(pb)
        unc = [item_uncertainty(rel_u, rel_bald, pairs.get(b, []), d.n_words) for b, d in enumerate(docs)]
        cal: dict[str, torch.Tensor] = {}
        if calibration:
            cal.update(softmax_relation_calibration(docs, sym, rel_logits, pred, arg_prob, (pb, pi, pj), es))
        return RelationOutput(out_rels, unc, cal)


# ---- assembling RawPredictions -------------------------------------------------------------------------------
def assemble(
    docs: list[Doc],
    embeddings: torch.Tensor,
    ents: EntityOutput,
    rels: RelationOutput | None,
    *,
    gold_entities: bool,
    mc_samples: int,
    calibration: bool,
) -> list[RawPrediction]:
    """RawPredictions with ``tagger.v1``'s uncertainty keys (entity keys only without gold entities)."""
    emb = embeddings.float().cpu()  # [B, H]
    out = []
    for b, d in enumerate(docs):
        unc: dict[str, float] = {}
        if not gold_entities:
            unc.update(ents.uncertainty[b] or summarise_uncertainty("entity", None, d.n_words))
            if mc_samples:
                unc.setdefault("entity_bald_norm", 0.0)
        unc.update(
            rels.uncertainty[b] if rels is not None else summarise_uncertainty("relation", None, d.n_words)
        )
        finish_uncertainty(unc, mc_samples)
        out.append(
            RawPrediction(
                ents=[(s, e, t, sc) for (s, e, t), sc in zip(ents.ents[b], ents.scores[b], strict=True)],
                rels=list(rels.rels[b]) if rels is not None else [],
                uncertainty=unc,
                embedding=emb[b].tolist(),
            )
        )
    if calibration and out:
        out[0].calibration = {**ents.calibration, **(rels.calibration if rels is not None else {})}
    return out


def _no_entities(docs: list[Doc]) -> EntityOutput:
    return EntityOutput([[] for _ in docs], [[] for _ in docs], [[] for _ in docs], [{} for _ in docs])


# ---- the three architectures ---------------------------------------------------------------------------------
class NerModel(JointModel):
    """``ner.v1``: encoder + token tagger; no relations."""

    arch_name = "ner.v1"

    def __init__(self, cfg: NerConfig, schema: Schema, encoder: WindowedEncoder):
        super().__init__(schema, encoder)
        self.cfg = cfg
        self.head = TagHead(self.n_ent, encoder.hidden_size, cfg.scheme, cfg.crf, cfg.dropout)

    def loss(self, docs: list[Doc], rng: random.Random, rel_weight: float = 1.0) -> dict[str, torch.Tensor]:
        ent_loss = self.head.loss(self.encode(docs), docs)
        return {"loss": ent_loss, "entity_loss": ent_loss, "relation_loss": ent_loss.detach() * 0.0}

    @torch.inference_mode()
    def predict_docs(
        self, docs: list[Doc], *, gold_entities: bool = False, mc_samples: int = 0, calibration: bool = False
    ) -> list[RawPrediction]:
        enc = self.encode(docs)
        if gold_entities:
            ents = gold_entity_output(docs)
        else:
            ents = self.head.predict(
                enc, docs, temperature=self.entity_temperature, mc_samples=mc_samples, calibration=calibration
            )
        return assemble(
            docs,
            self.sentence_embeddings(enc),
            ents,
            None,
            gold_entities=gold_entities,
            mc_samples=mc_samples,
            calibration=calibration,
        )


class ReModel(JointModel):
    """``re.v1``: encoder + pair classifier over *given* (gold) entities; see the module docstring."""

    arch_name = "re.v1"
    allowed: torch.Tensor  # JointModel's buffer (annotated for type checkers)

    def __init__(self, cfg: ReConfig, schema: Schema, encoder: WindowedEncoder):
        super().__init__(schema, encoder)
        self.cfg = cfg
        self.head = PairHead(encoder.hidden_size, self.n_rel, cfg.proj_dim, cfg.dropout, cfg.max_neg_pairs)
        self._sym = [r.symmetric for r in schema.relation_types]

    def loss(self, docs: list[Doc], rng: random.Random, rel_weight: float = 1.0) -> dict[str, torch.Tensor]:
        rel_loss = self.head.loss(self.encode(docs), docs, rng, self.allowed, self._sym)
        return {"loss": rel_loss, "entity_loss": rel_loss.detach() * 0.0, "relation_loss": rel_loss}

    @torch.inference_mode()
    def predict_docs(
        self, docs: list[Doc], *, gold_entities: bool = False, mc_samples: int = 0, calibration: bool = False
    ) -> list[RawPrediction]:
        """With ``gold_entities``: the gold mentions and the relations classified between them. Without:
        no mentions and no relations (RE alone recognises no entities)."""
        enc = self.encode(docs)
        if gold_entities:
            ents = gold_entity_output(docs)
            rels: RelationOutput | None = self.head.predict(
                enc,
                docs,
                ents,
                allowed=self.allowed,
                sym=self._sym,
                temperature=self.relation_temperature,
                mc_samples=mc_samples,
                calibration=calibration,
            )
        else:
            ents, rels = _no_entities(docs), None
        return assemble(
            docs,
            self.sentence_embeddings(enc),
            ents,
            rels,
            gold_entities=gold_entities,
            mc_samples=mc_samples,
            calibration=calibration,
        )


class EncoderPair(nn.Module):
    """The pipeline's two independent encoders, registered under the model's ``encoder`` attribute.

    Their parameters are then named ``encoder.*``, which is how the training loop gives encoder parameters
    the encoder learning rate. ``model`` (the NER encoder's transformer) is what a checkpoint saves the
    encoder config from; both encoders have that architecture.
    """

    def __init__(self, entity: WindowedEncoder, relation: WindowedEncoder):
        super().__init__()
        self.entity = entity
        self.relation = relation
        self.hidden_size = entity.hidden_size

    @property
    def model(self) -> nn.Module:
        return self.entity.model


class PipelineModel(JointModel):
    """``pipeline.v1``: ``ner.v1`` predictions fed to ``re.v1``, each with its own encoder."""

    arch_name = "pipeline.v1"
    allowed: torch.Tensor  # JointModel's buffer (annotated for type checkers)
    encoder: EncoderPair  # type: ignore[assignment]

    def __init__(self, cfg: PipelineConfig, schema: Schema, encoder: WindowedEncoder):
        # the RE encoder starts from the same (pretrained) weights and shares no parameter with the NER one
        super().__init__(schema, EncoderPair(encoder, copy.deepcopy(encoder)))  # type: ignore[arg-type]
        self.cfg = cfg
        h = encoder.hidden_size
        self.tag_head = TagHead(self.n_ent, h, cfg.scheme, cfg.crf, cfg.dropout)
        self.pair_head = PairHead(h, self.n_rel, cfg.proj_dim, cfg.dropout, cfg.max_neg_pairs)
        self._sym = [r.symmetric for r in schema.relation_types]

    def encode(self, docs: list[Doc]) -> Encoded:
        """The NER encoder's encoding (it also gives the sentence embedding)."""
        return encode_with(self.encoder.entity, docs)

    def encode_relations(self, docs: list[Doc]) -> Encoded:
        return encode_with(self.encoder.relation, docs)

    def loss(self, docs: list[Doc], rng: random.Random, rel_weight: float = 1.0) -> dict[str, torch.Tensor]:
        ent_loss = self.tag_head.loss(self.encode(docs), docs)
        rel_loss = self.pair_head.loss(self.encode_relations(docs), docs, rng, self.allowed, self._sym)
        return {"loss": ent_loss + rel_loss, "entity_loss": ent_loss, "relation_loss": rel_loss}

    @torch.inference_mode()
    def predict_docs(
        self, docs: list[Doc], *, gold_entities: bool = False, mc_samples: int = 0, calibration: bool = False
    ) -> list[RawPrediction]:
        enc = self.encode(docs)
        if gold_entities:
            ents = gold_entity_output(docs)
        else:
            ents = self.tag_head.predict(
                enc, docs, temperature=self.entity_temperature, mc_samples=mc_samples, calibration=calibration
            )
        rels = self.pair_head.predict(
            self.encode_relations(docs),
            docs,
            ents,
            allowed=self.allowed,
            sym=self._sym,
            temperature=self.relation_temperature,
            mc_samples=mc_samples,
            calibration=calibration,
        )
        return assemble(
            docs,
            self.sentence_embeddings(enc),
            ents,
            rels,
            gold_entities=gold_entities,
            mc_samples=mc_samples,
            calibration=calibration,
        )
