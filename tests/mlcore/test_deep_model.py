"""deep.v1: relation scorer, overfit + save/load round trip (fine-tuned and frozen encoder)."""

import random

import pytest
import torch
import torch.nn.functional as F

from mlcore import load_model, train_model
from mlcore.api import _build
from mlcore.archs.deep import DeepConfig, RelationScorer
from mlcore.encoder import load_pretrained_encoder, load_tokenizer
from mlcore.registry import available_architectures

from .helpers import toy_examples_list

FAST = {"epochs": 40, "batch_size": 4, "lr": 2e-3, "head_lr": 5e-3, "warmup_ratio": 0.0, "seed": 1}


def _keys(preds):
    return [
        (
            [(m.start, m.end, m.type) for m in p.mentions],
            [(r.head, r.tail, r.type) for r in p.relations],
        )
        for p in preds
    ]


def test_scorer_is_distmult_plus_cosine_plus_ffnn_and_masks():
    torch.manual_seed(0)
    n_rel, d_in = 3, 10
    scorer = RelationScorer(d_in, n_rel, dim=8, activation="tanh", dropout=0.3).eval()
    z = torch.randn(5, d_in)
    hi = torch.tensor([0, 1, 2, 3, 4, 0, 2])
    ti = torch.tensor([1, 0, 4, 2, 3, 3, 1])
    allowed = torch.ones(7, n_rel, dtype=torch.bool)
    allowed[1, 2] = allowed[4, 0] = False
    logits = scorer(z, hi, ti, allowed, chunk=3)
    assert logits.shape == (7, n_rel)
    assert (logits[~allowed] == -1e4).all() and (logits[allowed] > -1e3).all()
    # the same function written out pair by pair
    with torch.no_grad():
        h, t = z[hi], z[ti]
        dm = (scorer.dm_head(h) * scorer.dm_tail(t)) @ scorer.dm_rel.T
        cos = F.cosine_similarity(
            scorer.cos_head(h).view(7, n_rel, 8), scorer.cos_tail(t).view(7, n_rel, 8), dim=-1
        )
        w1 = torch.cat([scorer.pair_head.weight, scorer.pair_tail.weight], 1)  # Linear over [h; t]
        ffnn = scorer.pair_out(torch.tanh(torch.cat([h, t], -1) @ w1.T + scorer.pair_head.bias))
    expected = dm + cos + ffnn
    assert torch.allclose(logits[allowed], expected[allowed], atol=1e-5)
    assert torch.allclose(scorer(z, hi, ti, allowed, chunk=100), logits)
    # MC dropout changes scores, eval mode does not
    assert not torch.allclose(scorer(z, hi, ti, allowed, mc=True), logits)
    assert scorer(z, hi[:0], ti[:0], allowed[:0]).shape == (0, n_rel)


def test_registered_and_config_validated(tiny_encoder, toy_schema):
    assert "deep.v1" in available_architectures()
    tok = load_tokenizer(tiny_encoder)
    with pytest.raises(ValueError, match="rnn"):
        _build(
            "deep.v1", DeepConfig(rnn="transformer"), toy_schema, load_pretrained_encoder(tiny_encoder), tok
        )
    m = _build("deep.v1", DeepConfig(), toy_schema, load_pretrained_encoder(tiny_encoder), tok)
    ents = [(0, 1, 0), (1, 4, 2), (5, 7, 1)]
    assert m.decode_tags(m.encode_tags(8, ents)) == ents
    assert len(m.tags) == 1 + 4 * len(toy_schema.entity_types)  # BIOES


def test_loss_weighting_and_frozen_encoder_gets_no_grad(tiny_encoder, toy_schema):
    from mlcore.alignment import build_docs

    tok = load_tokenizer(tiny_encoder)
    cfg = DeepConfig(rel_loss_weight=3.0, freeze_encoder=True, rnn="lstm", dropout=0.0)
    m = _build("deep.v1", cfg, toy_schema, load_pretrained_encoder(tiny_encoder), tok).train()
    assert not m.encoder.training and m.scorer.training
    docs = build_docs(toy_examples_list(), tok, toy_schema, with_gold=True, cut_at_mentions=True)
    out = m.loss(docs, random.Random(0), rel_weight=0.5)
    assert out["relation_loss"] > 0 and out["entity_loss"] > 0
    assert torch.allclose(out["loss"], out["entity_loss"] + 1.5 * out["relation_loss"])
    out["loss"].backward()
    assert all(p.grad is None for p in m.encoder.parameters())
    assert m.scorer.dm_rel.grad is not None and m.shared_rnn.rnn.weight_ih_l0.grad is not None


@pytest.mark.parametrize(
    "overrides",
    [
        {"rnn": "gru", "shared_layers": 1, "ner_layers": 1, "re_layers": 1},
        {
            "rnn": "lstm",
            "shared_layers": 0,
            "ner_layers": 0,
            "re_layers": 1,
            "activation": "gelu",
            "freeze_encoder": True,
        },
    ],
    ids=["gru-1-1-1", "lstm-0-0-1-frozen"],
)
def test_deep_overfits_and_round_trips(tmp_path, tiny_encoder, toy_schema, overrides):
    examples = toy_examples_list()
    before = load_pretrained_encoder(tiny_encoder).state_dict()
    torch.manual_seed(0)  # head initialisation happens before the training loop seeds
    metrics = train_model(
        examples,
        examples,
        toy_schema,
        tmp_path / "m",
        arch="deep.v1",
        encoder=tiny_encoder,
        config={**FAST, **overrides},
        device="cpu",
    )
    hist = metrics["history"]
    assert hist[-1]["train_loss"] < 0.2 * hist[0]["train_loss"]
    assert metrics["dev"]["entities"]["micro"]["f1"] == 100.0
    assert metrics["dev"]["relations"]["micro"]["f1"] == 100.0
    assert metrics["dev"]["relations_given_gold_entities"]["micro"]["f1"] == 100.0

    model = load_model(tmp_path / "m", device="cpu")
    assert model.config["arch"] == "deep.v1"
    assert model.config["arch_config"]["rnn"] == overrides["rnn"]
    enc_after = model.model.encoder.model.state_dict()
    unchanged = all(torch.equal(before[k], enc_after[k]) for k in before)
    assert unchanged == bool(overrides.get("freeze_encoder"))
    if overrides.get("freeze_encoder"):
        assert not any(p.requires_grad for p in model.model.encoder.parameters())

    # temperature scaling was fitted from the calibration outputs (sigmoid relation head: no index)
    assert model.config["calibration"]["entity_temperature"] != 1.0
    assert model.config["calibration"]["relation_temperature"] != 1.0
    _, cal = model._predict_raw(model._docs(examples, gold=True), 8, calibration=True)
    assert "relation_index" not in cal
    labels = torch.cat(cal["relation_labels"])  # per predicted (pair, type); symmetric AND maybe both ways
    n_hits = len(labels)
    assert n_hits >= 3 and labels.all() and all(x.ndim == 1 for x in cal["relation_logits"])
    assert sum(len(x) for x in cal["relation_arg_probs"]) == n_hits
    assert sum(len(x) for x in cal["entity_logits"]) == sum(len(x) for x in cal["entity_labels"]) > 0

    preds = model.predict(examples)
    again = load_model(tmp_path / "m", device="cpu").predict(examples, batch_size=1, mc_samples=2)
    assert _keys(preds) == _keys(again)
    for a, b in zip(preds, again, strict=True):
        assert [m.score for m in a.mentions] == pytest.approx([m.score for m in b.mentions], abs=1e-5)
        assert [r.score for r in a.relations] == pytest.approx([r.score for r in b.relations], abs=1e-5)
        for key in ("entity_lc_max", "entity_margin_min", "relation_entropy_norm", "bald", "score"):
            assert key in b.uncertainty
        assert b.embedding is not None and len(b.embedding) == 32
    # symmetric AND is reported once; Has_value keeps its direction
    by_id = {p.id: p for p in preds}
    assert [(r.head, r.tail, r.type) for r in by_id["a"].relations] == [(0, 1, "AND")]
    assert [(r.head, r.tail, r.type) for r in by_id["b"].relations] == [(0, 1, "Has_value")]


@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh"])
def test_ffnn_keeps_the_signal_through_its_hidden_layers(activation):
    # PyTorch's default Linear init shrank the variance ~6x per ReLU layer: with two hidden layers the
    # NER emissions were so flat that the CRF settled on all-O (0 dev entities on 1,000 Chia sentences).
    from mlcore.archs.deep import _MLP

    torch.manual_seed(0)
    mlp = _MLP(384, 61, [128, 128], activation, dropout=0.1).eval()
    with torch.no_grad():
        assert mlp(torch.randn(4096, 384)).std() > 0.4
    assert all(not layer.bias.detach().any() for layer in mlp.layers)
