"""ner.v1, re.v1, pipeline.v1: seeded overfit, save/load round trip, outputs the workers rely on."""

import pytest
import torch

from mlcore import load_model, train_model
from mlcore.calibration import fit_temperatures

from .helpers import toy_examples_list

FAST = {"epochs": 60, "batch_size": 4, "lr": 2e-3, "head_lr": 5e-3, "warmup_ratio": 0.0, "seed": 1}

BASE_KEYS = {
    f"{part}_{k}"
    for part in ("entity", "relation")
    for k in ("lc_max", "margin_min", "lc_norm", "entropy_norm")
} | {"score"}

# arch -> (config overrides, expected dev F1: entities, relations end-to-end, relations given gold entities)
CASES = {
    "ner.v1": ({}, 100.0, 0.0, 0.0),
    "ner.v1-crf-bio": ({"crf": True, "scheme": "BIO"}, 100.0, 0.0, 0.0),
    # RE alone recognises no entities: end-to-end 0 by design, given gold entities it must be perfect
    "re.v1": ({}, 0.0, 0.0, 100.0),
    "pipeline.v1": ({}, 100.0, 100.0, 100.0),
}


def _triples(preds):
    return [
        (
            [(m.start, m.end, m.type) for m in p.mentions],
            [(r.head, r.tail, r.type) for r in p.relations],
        )
        for p in preds
    ]


def _scores(preds):
    return [s for p in preds for s in [m.score for m in p.mentions] + [r.score for r in p.relations]]


@pytest.mark.parametrize("case", list(CASES))
def test_baseline_overfits_and_round_trips(tmp_path, tiny_encoder, toy_schema, case):
    arch = case.split("-")[0]
    overrides, ent_f1, rel_f1, given_f1 = CASES[case]
    examples = toy_examples_list()
    metrics = train_model(
        examples,
        examples,
        toy_schema,
        tmp_path / "m",
        arch=arch,
        encoder=tiny_encoder,
        config={**FAST, **overrides},
        device="cpu",
    )
    hist = metrics["history"]
    assert hist[-1]["train_loss"] < 0.2 * hist[0]["train_loss"]
    dev = metrics["dev"]
    assert dev["entities"]["micro"]["f1"] == ent_f1
    assert dev["relations"]["micro"]["f1"] == rel_f1
    assert dev["relations_given_gold_entities"]["micro"]["f1"] == given_f1

    model = load_model(tmp_path / "m")
    assert model.config["arch"] == arch
    again = load_model(tmp_path / "m")
    for gold in (False, True):
        a = model.predict(examples, gold_entities=gold)
        b = again.predict(examples, batch_size=1, gold_entities=gold)
        assert _triples(a) == _triples(b)
        assert _scores(a) == pytest.approx(_scores(b), abs=1e-5)
    # the keys the active-learning queue reads, MC-dropout BALD and the embedding, as tagger.v1 gives them
    preds = again.predict(examples, mc_samples=2)
    for p in preds:
        assert BASE_KEYS | {"entity_bald_norm", "bald"} <= set(p.uncertainty)
        assert p.embedding is not None and len(p.embedding) == 32
        assert all(0.0 <= m.score <= 1.0 for m in p.mentions)
        assert all(0.0 <= r.score <= 1.0 for r in p.relations)
    for p in again.predict(examples, gold_entities=True):
        assert BASE_KEYS - {k for k in BASE_KEYS if k.startswith("entity_")} <= set(p.uncertainty)
        assert not any(k.startswith("entity_") for k in p.uncertainty)


def test_ner_predicts_no_relations_and_re_no_mentions(tmp_path, tiny_encoder, toy_schema):
    examples = toy_examples_list()
    cfg = {**FAST, "epochs": 2}
    train_model(examples, [], toy_schema, tmp_path / "ner", arch="ner.v1", encoder=tiny_encoder, config=cfg)
    train_model(examples, [], toy_schema, tmp_path / "re", arch="re.v1", encoder=tiny_encoder, config=cfg)
    ner, rel = load_model(tmp_path / "ner"), load_model(tmp_path / "re")
    assert all(not p.relations for p in ner.predict(examples))
    assert all(not p.relations for p in ner.predict(examples, gold_entities=True))
    # without gold entities RE alone has nothing to classify
    assert all(not p.mentions and not p.relations for p in rel.predict(examples))
    given = rel.predict(examples, gold_entities=True)
    assert _triples(given)[0][0] == [(m.start, m.end, m.type) for m in examples[0].mentions]
    # dev selection uses end-to-end relation F1 (always 0 here), so re.v1 keeps its last epoch
    assert rel.config["train_config"]["select_best"] is False
    assert "relation_warmup_epochs" not in rel.config["arch_config"]


def test_pipeline_encoders_are_separate_and_calibrated(tmp_path, tiny_encoder, toy_schema):
    from mlcore.api import _build
    from mlcore.archs.baselines import PipelineConfig
    from mlcore.encoder import load_pretrained_encoder, load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    fresh = _build("pipeline.v1", PipelineConfig(), toy_schema, load_pretrained_encoder(tiny_encoder), tok)
    ner_p = dict(fresh.encoder.entity.named_parameters())
    re_p = dict(fresh.encoder.relation.named_parameters())
    assert ner_p.keys() == re_p.keys()
    assert not {id(p) for p in ner_p.values()} & {id(p) for p in re_p.values()}
    # both start from the pretrained weights
    assert all(torch.equal(ner_p[k], re_p[k]) for k in ner_p)
    # every encoder parameter is named encoder.* (the training loop's encoder learning rate)
    enc_ids = {id(p) for p in fresh.encoder.parameters()}
    for name, p in fresh.named_parameters():
        assert name.startswith("encoder.") == (id(p) in enc_ids), name

    examples = toy_examples_list()
    train_model(
        examples,
        examples,
        toy_schema,
        tmp_path / "m",
        arch="pipeline.v1",
        encoder=tiny_encoder,
        config={**FAST, "epochs": 8},
        device="cpu",
    )
    model = load_model(tmp_path / "m")
    enc = model.model.encoder
    trained_ner = dict(enc.entity.named_parameters())
    trained_re = dict(enc.relation.named_parameters())
    # trained on different losses, the two encoders diverge
    assert any(not torch.equal(trained_ner[k], trained_re[k]) for k in trained_ner)
    docs = model._docs(examples, gold=True)
    _, cal = model._predict_raw(docs, 8, calibration=True)
    assert {"entity_logits", "entity_labels"} <= set(cal)
    t_ent, t_rel = fit_temperatures(cal)
    assert t_ent > 0 and t_rel > 0
    assert model.model.entity_temperature != 1.0  # fitted on dev by train_model and saved
