"""``tagger.v1``: BIO/BIOES tagging + biaffine relation classifier (after Giorgi et al., 2019;
Chen et al., 2020).

Words (max-pooled wordpieces) are tagged with a softmax (or a linear-chain CRF). Embeddings of the tags
(gold in training, predicted at inference) are concatenated to the encoder states; head and tail FFNN
projections of each entity's last word feed a relation classifier over ordered entity pairs with a NEG
class: by default (``re_head="re_m2"``) a biaffine one (bilinear + linear, or bilinear only), or
(``re_head="re_m1"``, Chen et al.'s RE-M1) the two projections summed, GELU, then a fully connected layer.

Ablations after Giorgi et al. (2019): ``label_embeddings=False`` (no tag embedding concatenated),
``proj="shared"`` (one FFNN for head and tail) or ``proj="none"`` (the biaffine runs on the raw word
state [+ tag embedding] vectors), ``biaffine="linear"`` (no bilinear term); entity pre-training is the
training config's ``relation_warmup_epochs`` (this architecture's default 1.0; 0 turns it off).

Nested/overlapping gold mentions cannot all be tagged: for training they are reduced by the rule
*longest first*: mentions sorted by (length descending, start), each kept unless it overlaps one already
kept; relations with a dropped argument are dropped from training. Evaluation always uses all gold.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..alignment import Doc
from ..encoder import WindowedEncoder
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


@dataclass
class TaggerConfig:
    """Hyperparameters of ``tagger.v1`` (stored in the checkpoint)."""

    scheme: str = "BIOES"  # or "BIO"
    crf: bool = False
    tag_dim: int = 25
    proj_dim: int = 128  # head/tail projection size
    biaffine: str = "bilinear+linear"  # or "bilinear", "linear" (on [head; tail]); re_head="re_m2" only
    dropout: float = 0.1
    rel_negatives: str = "gold"  # "gold": pairs of gold entities; "predicted": gold + predicted entities
    max_neg_pairs: int = 200  # NEG pairs sampled per sentence in training
    max_wordpieces: int | None = None
    window_overlap: int | None = None
    re_head: str = "re_m2"  # "re_m2": biaffine; "re_m1": FC(GELU(head_proj(h) + tail_proj(t)))
    label_embeddings: bool = True  # concatenate tag embeddings to the word states (False: tag_dim unused)
    proj: str = "separate"  # head/tail FFNN: "separate", "shared" (one for both), "none" (raw vectors)

    # training defaults this architecture wants (overridable): entity pre-training ramp over epoch 1
    train_defaults: ClassVar[dict[str, Any]] = {"relation_warmup_epochs": 1.0}

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` on an unknown option or a combination that is not a model."""
        choices = {
            "scheme": ("BIO", "BIOES"),
            "biaffine": ("bilinear+linear", "bilinear", "linear"),
            "rel_negatives": ("gold", "predicted"),
            "re_head": ("re_m2", "re_m1"),
            "proj": ("separate", "shared", "none"),
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")
        if self.re_head == "re_m1":
            if self.biaffine != "bilinear+linear":
                raise ValueError(f"biaffine={self.biaffine!r} applies to re_head='re_m2' only, not 're_m1'")
            if self.proj != "separate":
                # shared: FC(f(h) + f(t)) scores (h, t) and (t, h) alike; none: no projection to sum
                raise ValueError(
                    f"re_head='re_m1' needs proj='separate' (head and tail FFNN), not {self.proj!r}"
                )


def reduce_nested(ents: list[tuple[int, int, int]]) -> list[int]:
    """Indices of mentions kept for tagging: longest first, dropping any overlap with a kept one."""
    order = sorted(range(len(ents)), key=lambda i: (-(ents[i][1] - ents[i][0]), ents[i][0], ents[i][2]))
    taken: list[tuple[int, int]] = []
    keep = []
    for i in order:
        s, e, _ = ents[i]
        if all(e <= ks or s >= ke for ks, ke in taken):
            taken.append((s, e))
            keep.append(i)
    return sorted(keep)


def tag_names(n_ent: int, scheme: str) -> list[str]:
    """Tag inventory: ``O`` then ``{prefix}-{type idx}`` per entity type (prefixes BI or BIES)."""
    prefixes = "BI" if scheme == "BIO" else "BIES"
    return ["O"] + [f"{p}-{t}" for t in range(n_ent) for p in prefixes]


def encode_tags(
    tag_index: dict[str, int], n: int, ents: list[tuple[int, int, int]], bioes: bool
) -> list[int]:
    """Tag ids for ``n`` words from non-overlapping ``(start, end, type)`` spans."""
    tags = [0] * n
    for s, e, t in ents:
        if bioes and e - s == 1:
            tags[s] = tag_index[f"S-{t}"]
            continue
        tags[s] = tag_index[f"B-{t}"]
        for i in range(s + 1, e):
            tags[i] = tag_index[f"I-{t}"]
        if bioes:
            tags[e - 1] = tag_index[f"E-{t}"]
    return tags


def decode_tags(names: list[str], tags: list[int]) -> list[tuple[int, int, int]]:
    """Spans from a tag sequence (lenient: an I/E without a matching open span starts one)."""
    ents: list[tuple[int, int, int]] = []
    cur: tuple[int, int] | None = None  # (start, type)
    for i, tag in enumerate(tags + [0]):
        name = names[tag]
        p, t = (name[0], int(name[2:])) if name != "O" else ("O", -1)
        if cur is not None and (p in ("O", "B", "S") or t != cur[1]):
            ents.append((cur[0], i, cur[1]))
            cur = None
        if p in ("B", "S") or (p in ("I", "E") and cur is None):
            cur = (i, t)
        if p in ("S", "E") and cur is not None:
            ents.append((cur[0], i + 1, cur[1]))
            cur = None
    return ents


class CRF(nn.Module):
    """Linear-chain CRF over tag emissions [B, N, T] with a length mask [B, N]."""

    def __init__(self, n_tags: int):
        super().__init__()
        self.trans = nn.Parameter(torch.zeros(n_tags, n_tags))  # trans[i, j]: score of tag i -> tag j
        self.start = nn.Parameter(torch.zeros(n_tags))
        self.end = nn.Parameter(torch.zeros(n_tags))

    def nll(self, em: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, _ = em.shape
        maskf = mask.to(em.dtype)
        # gold path score
        score = self.start[tags[:, 0]] + em[:, 0].gather(1, tags[:, :1]).squeeze(1)
        for i in range(1, n):
            step = self.trans[tags[:, i - 1], tags[:, i]] + em[:, i].gather(1, tags[:, i : i + 1]).squeeze(1)
            score = score + step * maskf[:, i]
        last = tags.gather(1, (mask.sum(1) - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        score = score + self.end[last]
        # partition function
        alpha = self.start + em[:, 0]  # [B, T]
        for i in range(1, n):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.trans + em[:, i].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, i : i + 1], nxt, alpha)
        log_z = torch.logsumexp(alpha + self.end, dim=1)
        return (log_z - score).mean()

    def decode(self, em: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        b, n, _ = em.shape
        score = self.start + em[:, 0]
        back = []
        for i in range(1, n):
            cand = score.unsqueeze(2) + self.trans  # [B, T, T]
            best, idx = cand.max(1)
            nxt = best + em[:, i]
            score = torch.where(mask[:, i : i + 1], nxt, score)
            back.append(torch.where(mask[:, i : i + 1], idx, torch.arange(em.shape[2], device=em.device)))
        score = score + self.end
        out = []
        lengths = mask.sum(1).tolist()
        for bi in range(b):
            t = int(score[bi].argmax())
            path = [t]
            for i in range(n - 2, -1, -1):
                t = int(back[i][bi, t])
                path.append(t)
            path.reverse()
            out.append(path[: lengths[bi]])
        return out


def best_tag_paths(
    em: torch.Tensor, mask: torch.Tensor, crf: CRF | None, n_words: list[int]
) -> tuple[list[list[int]], torch.Tensor]:
    """Each doc's best tag path from emissions [B, N, T] (Viterbi with a CRF, else per-word argmax), and the
    paths as a [B, N] tensor (0 = O on padding)."""
    if crf is not None:
        paths = crf.decode(em, mask)
    else:
        am = em.argmax(-1).tolist()
        paths = [am[b][:n] for b, n in enumerate(n_words)]
    tags = torch.zeros(mask.shape, dtype=torch.long, device=em.device)
    for b, path in enumerate(paths):
        if path:
            tags[b, : len(path)] = torch.tensor(path, dtype=torch.long)
    return paths, tags


class TaggerModel(JointModel):
    arch_name = "tagger.v1"

    def __init__(self, cfg: TaggerConfig, schema: Schema, encoder: WindowedEncoder):
        super().__init__(schema, encoder)
        cfg.validate()  # again: the config may have been changed after construction
        self.cfg = cfg
        self.tags = tag_names(self.n_ent, cfg.scheme)
        self.tag_index = {t: i for i, t in enumerate(self.tags)}
        h = encoder.hidden_size
        self.tagger = FFNN(h, len(self.tags), 0, cfg.dropout)
        self.crf = CRF(len(self.tags)) if cfg.crf else None
        # Modules are created in the same order for every option so that the default config's parameter
        # initialisation (and so its training run) is unchanged by the options.
        self.tag_emb = nn.Embedding(len(self.tags), cfg.tag_dim) if cfg.label_embeddings else None
        z = h + (cfg.tag_dim if cfg.label_embeddings else 0)  # pair input: word state [+ tag embedding]
        # proj="shared": head_proj projects both ends; proj="none": no projection, d = z
        self.head_proj = FFNN(z, cfg.proj_dim, 0, cfg.dropout) if cfg.proj != "none" else None
        self.tail_proj = FFNN(z, cfg.proj_dim, 0, cfg.dropout) if cfg.proj == "separate" else None
        d = cfg.proj_dim if cfg.proj != "none" else z
        n_out = self.n_rel + 1  # index 0 = NEG
        self.bilinear: nn.Parameter | None = None
        self.linear: nn.Linear | None = None
        self.bias: nn.Parameter | None = None
        self.rel_fc: FFNN | None = None
        if cfg.re_head == "re_m2":
            if cfg.biaffine != "linear":
                self.bilinear = nn.Parameter(torch.zeros(n_out, d, d))  # [n_rel + 1, d, d]
                nn.init.xavier_uniform_(self.bilinear)
            if cfg.biaffine != "bilinear":
                self.linear = nn.Linear(2 * d, n_out)
            self.bias = nn.Parameter(torch.zeros(n_out))
        else:
            self.rel_fc = FFNN(d, n_out, 0, cfg.dropout)

    # ---- tags ---------------------------------------------------------------------------------------------
    def encode_tags(self, n: int, ents: list[tuple[int, int, int]]) -> list[int]:
        return encode_tags(self.tag_index, n, ents, self.cfg.scheme == "BIOES")

    def decode_tags(self, tags: list[int]) -> list[tuple[int, int, int]]:
        """Spans from a tag sequence (lenient: an I/E without a matching open span starts one)."""
        return decode_tags(self.tags, tags)

    # ---- shared pieces ------------------------------------------------------------------------------------
    def _pair_logits(
        self,
        z: torch.Tensor,
        hb: torch.Tensor,
        hi: torch.Tensor,
        tb: torch.Tensor,
        ti: torch.Tensor,
        h_type: torch.Tensor,
        t_type: torch.Tensor,
        mc: bool = False,
    ) -> torch.Tensor:
        """Relation scores [P, n_rel + 1] for pairs (head word hi of seq hb, tail word ti of seq tb)."""
        xh, xt = z[hb, hi], z[tb, ti]  # [P, Z]
        if self.rel_fc is not None:  # re_m1 (config validation guarantees separate projections)
            assert self.head_proj is not None and self.tail_proj is not None
            summed = F.gelu(self.head_proj(xh, mc=mc) + self.tail_proj(xt, mc=mc))  # [P, proj_dim]
            scores = self.rel_fc(summed, mc=mc)
        else:
            if self.head_proj is None:  # proj="none": dropout only, so MC dropout still samples
                drop = self.training or mc
                hz, tz = F.dropout(xh, self.cfg.dropout, drop), F.dropout(xt, self.cfg.dropout, drop)
            else:
                tail_proj = self.tail_proj if self.tail_proj is not None else self.head_proj
                hz = F.gelu(self.head_proj(xh, mc=mc))  # [P, D]
                tz = F.gelu(tail_proj(xt, mc=mc))
            assert self.bias is not None
            bias = self.bias.to(hz.dtype)
            if self.bilinear is not None:
                scores = torch.einsum("pd,rde,pe->pr", hz, self.bilinear.to(hz.dtype), tz) + bias
                if self.linear is not None:
                    scores = scores + self.linear(torch.cat([hz, tz], -1))
            else:
                assert self.linear is not None
                scores = self.linear(torch.cat([hz, tz], -1)) + bias
        if self.n_rel:
            allowed = self.allowed[h_type, t_type][:, : self.n_rel]
            scores = torch.cat([scores[:, :1], scores[:, 1:].masked_fill(~allowed, -1e4)], dim=1)
        return scores

    def _tag_logits(self, words: torch.Tensor, mc: bool = False) -> torch.Tensor:
        return self.tagger(words, mc=mc)  # [B, N, n_tags]

    def _pair_inputs(self, words: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        """Word states [B, N, H] with the embeddings of ``tags`` [B, N] concatenated (if enabled)."""
        if self.tag_emb is None:
            return words
        return torch.cat([words, self.tag_emb(tags).to(words.dtype)], -1)  # [B, N, H + tag_dim]

    # ---- training -----------------------------------------------------------------------------------------
    def loss(self, docs: list[Doc], rng: random.Random, rel_weight: float = 1.0) -> dict[str, torch.Tensor]:
        enc = self.encode(docs)
        dev = enc.words.device
        b_n, n_max = len(docs), enc.words.shape[1]
        gold_tags = torch.zeros((b_n, n_max), dtype=torch.long)
        mask = torch.zeros((b_n, n_max), dtype=torch.bool)
        kept: list[list[tuple[int, int, int]]] = []
        kept_rels: list[list[tuple[int, int, int]]] = []
        for b, d in enumerate(docs):
            keep = reduce_nested(d.ents)
            remap = {old: new for new, old in enumerate(keep)}
            ents = [d.ents[i] for i in keep]
            kept.append(ents)
            kept_rels.append([(remap[h], remap[t], r) for h, t, r in d.rels if h in remap and t in remap])
            gold_tags[b, : d.n_words] = torch.tensor(self.encode_tags(d.n_words, ents), dtype=torch.long)
            mask[b, : d.n_words] = True
        gold_tags, mask = gold_tags.to(dev), mask.to(dev)
        em = self._tag_logits(enc.words)  # [B, N, T]
        if self.crf is not None:
            ent_loss = self.crf.nll(em.float(), gold_tags, mask)
        else:
            ent_loss = F.cross_entropy(em.float()[mask], gold_tags[mask])
        z = self._pair_inputs(enc.words, gold_tags)

        pred_ents: list[list[tuple[int, int, int]]] = [[] for _ in docs]
        if self.cfg.rel_negatives == "predicted":
            with torch.no_grad():
                pred_tags = em.argmax(-1).tolist()
            pred_ents = [self.decode_tags(pred_tags[b][: d.n_words]) for b, d in enumerate(docs)]
        pb, ph, pt, pht, ptt, plab = [], [], [], [], [], []
        sym = [r.symmetric for r in self.schema.relation_types]
        for b in range(len(docs)):
            cands = list(kept[b])
            index = {e: i for i, e in enumerate(cands)}
            for e in pred_ents[b]:
                if e not in index:
                    index[e] = len(cands)
                    cands.append(e)
            lab: dict[tuple[int, int], int] = {}
            for h, t, r in kept_rels[b]:
                lab.setdefault((h, t), r + 1)
                if sym[r]:
                    lab.setdefault((t, h), r + 1)
            negs = [
                (i, j) for i in range(len(cands)) for j in range(len(cands)) if i != j and (i, j) not in lab
            ]
            if len(negs) > self.cfg.max_neg_pairs:
                negs = rng.sample(negs, self.cfg.max_neg_pairs)
            for (i, j), y in [*lab.items(), *((p, 0) for p in negs)]:
                pb.append(b)
                ph.append(cands[i][1] - 1)
                pt.append(cands[j][1] - 1)
                pht.append(cands[i][2])
                ptt.append(cands[j][2])
                plab.append(y)
        if pb:
            lt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
            bt = lt(pb)
            logits = self._pair_logits(z, bt, lt(ph), bt, lt(pt), lt(pht), lt(ptt))
            rel_loss = F.cross_entropy(logits.float(), lt(plab))
        else:
            rel_loss = em.sum() * 0.0
        return {"loss": ent_loss + rel_weight * rel_loss, "entity_loss": ent_loss, "relation_loss": rel_loss}

    # ---- inference ----------------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_docs(
        self, docs: list[Doc], *, gold_entities: bool = False, mc_samples: int = 0, calibration: bool = False
    ) -> list[RawPrediction]:
        enc = self.encode(docs)
        dev = enc.words.device
        emb = self.sentence_embeddings(enc).float().cpu()
        out = [RawPrediction(embedding=emb[b].tolist()) for b in range(len(docs))]
        b_n, n_max = len(docs), enc.words.shape[1]
        mask = torch.zeros((b_n, n_max), dtype=torch.bool, device=dev)
        for b, d in enumerate(docs):
            mask[b, : d.n_words] = True
        em = self._tag_logits(enc.words).float()  # [B, N, T]
        probs = torch.softmax(em / self.entity_temperature, -1)
        tag_u = categorical_uncertainty(probs.reshape(-1, probs.shape[-1]))
        tag_bald = None
        if mc_samples and not gold_entities:
            samples = torch.stack(
                [torch.softmax(self._tag_logits(enc.words, mc=True).float(), -1) for _ in range(mc_samples)]
            )  # [K, B, N, T]
            tag_bald = bald_categorical(samples.reshape(mc_samples, -1, samples.shape[-1])).view(b_n, n_max)
        if gold_entities:
            ents = [sorted({(s, e, t) for s, e, t in d.ents}, key=d.ents.index) for d in docs]
            tags = torch.zeros((b_n, n_max), dtype=torch.long, device=dev)
            for b, d in enumerate(docs):
                red = reduce_nested(ents[b])
                tags[b, : d.n_words] = torch.tensor(self.encode_tags(d.n_words, [ents[b][i] for i in red]))
        else:
            paths, tags = best_tag_paths(em, mask, self.crf, [d.n_words for d in docs])
            ents = [self.decode_tags(p) for p in paths]
        tag_p = probs.gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # [B, N] calibrated prob of the chosen tag
        raw_p = torch.softmax(em, -1).gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # [B, N] uncalibrated
        ent_raw: list[list[float]] = []  # uncalibrated entity scores (inputs to relation scores)
        for b, es in enumerate(ents):
            out[b].ents = [(s, e, t, 1.0 if gold_entities else float(tag_p[b, s:e].mean())) for s, e, t in es]
            ent_raw.append([1.0 if gold_entities else float(raw_p[b, s:e].mean()) for s, e, _ in es])

        z = self._pair_inputs(enc.words, tags)
        pb, pi, pj = [], [], []
        for b, es in enumerate(ents):
            for i in range(len(es)):
                for j in range(len(es)):
                    if i != j:
                        pb.append(b)
                        pi.append(i)
                        pj.append(j)
        sym = [r.symmetric for r in self.schema.relation_types]
        rel_probs = rel_logits = rel_bald = None
        if pb and self.n_rel:
            lt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
            bt = lt(pb)
            hw = lt([ents[b][i][1] - 1 for b, i in zip(pb, pi, strict=True)])
            tw = lt([ents[b][j][1] - 1 for b, j in zip(pb, pj, strict=True)])
            htp = lt([ents[b][i][2] for b, i in zip(pb, pi, strict=True)])
            ttp = lt([ents[b][j][2] for b, j in zip(pb, pj, strict=True)])
            chunks, mcs = [], []
            for c in range(0, len(pb), 4096):
                sl = slice(c, c + 4096)
                args = (z, bt[sl], hw[sl], bt[sl], tw[sl], htp[sl], ttp[sl])
                chunks.append(self._pair_logits(*args).float())
                if mc_samples:
                    mcs.append(
                        torch.stack(
                            [
                                torch.softmax(self._pair_logits(*args, mc=True).float(), -1)
                                for _ in range(mc_samples)
                            ]
                        )
                    )
            rel_logits = torch.cat(chunks)  # [P, n_rel + 1]
            rel_probs = torch.softmax(rel_logits / self.relation_temperature, -1)
            rel_bald = bald_categorical(torch.cat(mcs, 1)) if mc_samples else None
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
                gold_tags = torch.zeros((b_n, n_max), dtype=torch.long, device=dev)
                for b, d in enumerate(docs):
                    red = reduce_nested(d.ents)
                    gold_tags[b, : d.n_words] = torch.tensor(
                        self.encode_tags(d.n_words, [d.ents[i] for i in red]), dtype=torch.long
                    )
                cal["entity_logits"] = em[sel].cpu()
                cal["entity_labels"] = gold_tags[sel].cpu()
            if rel_logits is not None:
                cal.update(
                    softmax_relation_calibration(docs, sym, rel_logits, pred, arg_prob, (pb, pi, pj), ents)
                )
            out[0].calibration = cal
        return out
