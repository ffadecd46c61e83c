"""span.v1: overfit a few seeded sentences, save/load round trip, options, checkpoint checks, CLI."""

import json

import pytest
import torch

import mlcore
from mlcore import CheckpointVersionError, load_model, train_model
from mlcore.api import _build, split_config
from mlcore.archs.span import SpanConfig
from mlcore.encoder import load_pretrained_encoder, load_tokenizer

from .helpers import make_example, make_tiny_encoder, toy_examples_list

FAST = {
    "epochs": 60,
    "batch_size": 4,
    "lr": 2e-3,
    "head_lr": 5e-3,
    "warmup_ratio": 0.0,
    "seed": 1,
    "neg_entities": 30,
}


def _keys(preds):
    return [
        (
            sorted((m.start, m.end, m.type) for m in p.mentions),
            sorted(((p.mentions[r.head].start, p.mentions[r.tail].start), r.type) for r in p.relations),
        )
        for p in preds
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_encoder, toy_schema):
    examples = _toy()
    losses = []
    out = tmp_path_factory.mktemp("span_ckpt")
    metrics = train_model(
        examples,
        examples,
        toy_schema,
        out,
        arch="span.v1",
        encoder=tiny_encoder,
        config=FAST,
        progress=losses.append,
        device="cpu",
    )
    return out, metrics, losses, examples


def _toy():
    return toy_examples_list()


def test_overfits_and_reports(trained):
    out, metrics, progress, examples = trained
    hist = metrics["history"]
    assert hist[-1]["train_loss"] < 0.2 * hist[0]["train_loss"]
    dev = metrics["dev"]
    assert dev["entities"]["micro"]["f1"] == 100.0
    assert dev["relations"]["micro"]["f1"] == 100.0
    assert dev["relations_given_gold_entities"]["micro"]["f1"] == 100.0
    assert "entity_ece" in dev["calibration"]
    steps = [p for p in progress if p.get("phase") == "train"]
    assert steps and {"epoch", "step", "total_steps", "loss", "eta_s"} <= set(steps[-1])
    for f in (
        "config.json",
        "model.safetensors",
        "metrics.json",
        "fingerprint.json",
        "encoder/tokenizer.json",
    ):
        assert (out / f).exists(), f


def test_save_load_identical_predictions(trained, tmp_path):
    out, _, _, examples = trained
    model = load_model(out, device="cpu")
    assert model.config["arch"] == "span.v1" and model.version == 1
    preds = model.predict(examples, batch_size=2)
    assert _keys(preds) == _keys(examples)  # the overfitted model predicts its training data
    model.save(tmp_path / "copy")
    again = load_model(tmp_path / "copy").predict(examples, batch_size=3)
    assert _keys(again) == _keys(preds)
    for a, b in zip(preds, again, strict=True):
        assert [m.score for m in a.mentions] == pytest.approx([m.score for m in b.mentions], abs=1e-5)
        assert a.embedding == pytest.approx(b.embedding, abs=1e-5)
        assert set(a.uncertainty) >= {
            "entity_entropy_norm",
            "relation_entropy_norm",
            "entity_margin_min",
            "score",
        }
    # raw text input and MC dropout
    p = model.predict(["Insulin dose 10 units"], mc_samples=3)[0]
    assert p.mentions and "bald" in p.uncertainty and len(p.embedding) == 32


def test_version_mismatch_is_clear(trained, tmp_path):
    import shutil

    out, *_ = trained
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["format_version"] = 999
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointVersionError, match="version 999"):
        load_model(bad)
    with pytest.raises(CheckpointVersionError, match="not an mlcore checkpoint"):
        load_model(tmp_path)


def test_schema_mask_forbids_relation(trained):
    out, *_ = trained
    model = load_model(out)
    allowed = model.model.allowed
    ents = model.schema.entity_types
    # Has_value only from Condition/Drug to Value
    assert not allowed[ents.index("Value"), ents.index("Condition"), 0]
    assert allowed[ents.index("Drug"), ents.index("Value"), 0]
    for p in model.predict(["HbA1c above 7 %", "Insulin dose 10 units"]):
        for r in p.relations:
            if r.type == "Has_value":
                assert p.mentions[r.tail].type == "Value"


def test_long_sentence_windowed_no_crash_no_dropped_mention(tmp_path, toy_schema):

    enc = make_tiny_encoder(tmp_path / "enc16", max_position_embeddings=16)
    filler = " ".join(["and"] * 30)
    long_ex = make_example(
        f"Diabetes {filler} insulin 10 units",
        [("Diabetes", "Condition"), ("insulin", "Drug"), ("10 units", "Value")],
        [(1, 2, "Has_value")],
        "long",
    )
    metrics = train_model(
        [long_ex],
        [long_ex],
        toy_schema,
        tmp_path / "m",
        encoder=enc,
        config={**FAST, "epochs": 40},
        device="cpu",
    )
    assert metrics["alignment"]["mentions_dropped"] == 0
    model = load_model(tmp_path / "m")
    assert model.model.encoder.max_len == 16
    pred = model.predict([long_ex])[0]
    # mentions beyond the first window (16 wordpieces) are still found
    assert {(m.start, m.end, m.type) for m in long_ex.mentions} <= {
        (m.start, m.end, m.type) for m in pred.mentions
    }


def test_cli_train_evaluate_predict(tmp_path, tiny_encoder):
    from mlcore.__main__ import main
    from mlcore.io import write_spert_json

    data = tmp_path / "d.json"
    write_spert_json(_toy(), data)
    out = tmp_path / "model"
    cfg = json.dumps({k: v for k, v in FAST.items() if k not in ("epochs",)})
    assert (
        main(
            [
                "train",
                "--train",
                str(data),
                "--dev",
                str(data),
                "--out",
                str(out),
                "--encoder",
                tiny_encoder,
                "--epochs",
                "2",
                "--config",
                cfg,
            ]
        )
        == 0
    )
    assert main(["evaluate", "--model", str(out), "--data", str(data)]) == 0
    assert main(["predict", "--model", str(out), "--data", str(data), "--out", str(tmp_path / "p.json")]) == 0
    assert len(json.loads((tmp_path / "p.json").read_text())) == 4
    assert "span.v1" in mlcore.available_architectures()


def test_should_stop_cancels_and_unknown_config_rejected(tmp_path, tiny_encoder, toy_schema):
    from mlcore import TrainingCancelled

    with pytest.raises(TrainingCancelled):
        train_model(_toy(), [], toy_schema, tmp_path / "x", encoder=tiny_encoder, should_stop=lambda: True)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="no_such_key"):
        train_model(_toy(), [], toy_schema, tmp_path / "y", encoder=tiny_encoder, config={"no_such_key": 1})


def test_unknown_architecture_is_clear(tmp_path, tiny_encoder, toy_schema):
    with pytest.raises(KeyError, match="span.v1"):
        train_model(_toy(), [], toy_schema, tmp_path / "z", arch="span.v9", encoder=tiny_encoder)


def _train_and_reload(tmp_path, tiny_encoder, toy_schema, overrides):
    examples = _toy()
    metrics = train_model(
        examples,
        examples,
        toy_schema,
        tmp_path / "m",
        arch="span.v1",
        encoder=tiny_encoder,
        config={**FAST, **overrides},
        device="cpu",
    )
    model = load_model(tmp_path / "m", device="cpu")
    assert {k: model.config["arch_config"][k] for k in overrides} == overrides
    preds = model.predict(examples, batch_size=2)
    again = load_model(tmp_path / "m").predict(examples, batch_size=3, mc_samples=2)
    assert _keys(again) == _keys(preds)
    for a, b in zip(preds, again, strict=True):
        assert [m.score for m in a.mentions] == pytest.approx([m.score for m in b.mentions], abs=1e-5)
        assert "bald" in b.uncertainty
    return metrics, preds, examples


@pytest.mark.parametrize(
    "overrides",
    [{"span_pooling": "mean", "rel_context": "sentence"}, {"span_pooling": "sum", "rel_context": "cls"}],
    ids=["mean_sentence", "sum_cls"],
)
def test_pooling_and_context_options_overfit_and_round_trip(tmp_path, tiny_encoder, toy_schema, overrides):
    metrics, preds, examples = _train_and_reload(tmp_path, tiny_encoder, toy_schema, overrides)
    hist = metrics["history"]
    assert hist[-1]["train_loss"] < 0.2 * hist[0]["train_loss"]
    assert metrics["dev"]["entities"]["micro"]["f1"] == 100.0
    assert metrics["dev"]["relations"]["micro"]["f1"] == 100.0
    assert _keys(preds) == _keys(examples)


def test_zero_negatives_still_trains(tmp_path, tiny_encoder, toy_schema):
    # gold spans and gold relation pairs only: no "none" entity span and no NEG pair is ever sampled
    overrides = {"neg_entities": 0, "neg_relations": 0}
    metrics, _, _ = _train_and_reload(tmp_path, tiny_encoder, toy_schema, overrides)
    hist = metrics["history"]
    assert hist[-1]["train_loss"] < 0.2 * hist[0]["train_loss"]
    assert metrics["dev"]["entities"]["micro"]["recall"] == 100.0
    assert metrics["dev"]["relations_given_gold_entities"]["micro"]["recall"] == 100.0


def _span_model(tiny_encoder, toy_schema, **kw):
    tok = load_tokenizer(tiny_encoder)
    return _build("span.v1", SpanConfig(**kw), toy_schema, load_pretrained_encoder(tiny_encoder), tok).eval()


def test_span_pooling_and_context_compute_what_they_say(tiny_encoder, toy_schema):
    from mlcore.alignment import build_docs

    examples = _toy()
    docs = build_docs(
        examples, load_tokenizer(tiny_encoder), toy_schema, with_gold=True, cut_at_mentions=False
    )
    for pooling, context in (("sum", "sentence"), ("mean", "cls"), ("max", "localized")):
        m = _span_model(tiny_encoder, toy_schema, span_pooling=pooling, rel_context=context)
        with torch.no_grad():
            enc = m.encode(docs)
        words = enc.words
        b, s, e = torch.tensor([0, 1, 3]), torch.tensor([0, 1, 2]), torch.tensor([3, 4, 4])
        span = [words[bi, si:ei] for bi, si, ei in zip(b, s, e, strict=True)]
        reduce = {"sum": lambda x: x.sum(0), "mean": lambda x: x.mean(0), "max": lambda x: x.max(0).values}
        want = torch.stack([reduce[pooling](x) for x in span])
        assert torch.allclose(m._pool(enc, b, s, e), want, atol=1e-5)
        # pairs: spans [0, 1) and [2, 3) of doc 0, then touching spans [0, 1) and [1, 2) of doc 1
        pb = torch.tensor([0, 1])
        ctx = m._context(
            enc,
            pb,
            (torch.tensor([0, 0]), torch.tensor([1, 1])),
            (torch.tensor([2, 1]), torch.tensor([3, 2])),
        )
        if context == "cls":
            want_ctx = enc.cls[pb]
        elif context == "sentence":
            want_ctx = torch.stack([words[i, : docs[i].n_words].max(0).values for i in (0, 1)])
        else:  # words strictly between the spans; none between touching spans
            want_ctx = torch.stack([words[0, 1], torch.zeros(words.shape[-1])])
        assert torch.allclose(ctx, want_ctx, atol=1e-6)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"span_pooling": "avg"}, "span_pooling must be one of 'max', 'sum', 'mean', not 'avg'"),
        ({"rel_context": "global"}, "rel_context must be one of 'localized', 'sentence', 'cls'"),
        ({"neg_entities": -1}, "neg_entities must be >= 0"),
        ({"neg_relations": -5}, "neg_relations must be >= 0"),
    ],
)
def test_invalid_span_options_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        SpanConfig(**kw)
    with pytest.raises(ValueError, match=match):
        split_config("span.v1", kw)


def test_thresholds_tuned_on_dev_and_saved(tmp_path, tiny_encoder, toy_schema):
    # 1.01 lets no relation through (a sigmoid never reaches it); tuning on dev picks the grid value that
    # does, and the checkpoint keeps it. The entity threshold is tuned first (by entity F1).
    examples = _toy()
    config = {**FAST, "rel_threshold": 1.01, "rel_threshold_grid": [0.5], "rel_threshold_min_relations": 1,
              "ent_threshold_grid": [0.0, 0.6], "ent_threshold_min_mentions": 1, "select_best": False}
    metrics = train_model(examples, examples, toy_schema, tmp_path / "m", arch="span.v1",
                          encoder=tiny_encoder, config=config, device="cpu")
    rel, ent = metrics["thresholds"]["rel_threshold"], metrics["thresholds"]["ent_threshold"]
    assert rel["configured"] == 1.01 and rel["chosen"] == 0.5
    assert rel["f1"] == {"0.5": 100.0, "1.01": 0.0}
    assert set(ent["f1"]) == {"0.0", "0.6"} and ent["f1"]["0.0"] == 100.0
    assert ent["chosen"] == 0.0  # a tie keeps the configured value
    assert metrics["dev"]["relations"]["micro"]["f1"] == 100.0
    model = load_model(tmp_path / "m")
    assert model.config["arch_config"]["rel_threshold"] == 0.5 and model.model.cfg.rel_threshold == 0.5
    # too few dev relations to choose on, or tuning off: the configured threshold stays
    for extra in ({"rel_threshold_min_relations": 100}, {"tune_rel_threshold": False}):
        m = train_model(examples, examples, toy_schema, tmp_path / "n", arch="span.v1", encoder=tiny_encoder,
                        config={**FAST, "epochs": 2, "rel_threshold": 1.01, **extra}, device="cpu")
        assert "rel_threshold" not in m["thresholds"]
        assert load_model(tmp_path / "n").model.cfg.rel_threshold == 1.01


def test_entity_threshold_keeps_fewer_surer_spans(trained):
    out, _, _, examples = trained
    model = load_model(out)
    loose = sum(len(p.mentions) for p in model.predict(examples))
    model.model.cfg.ent_threshold = 0.999999
    strict = model.predict(examples)
    assert sum(len(p.mentions) for p in strict) < loose
    with pytest.raises(ValueError, match="ent_threshold"):
        SpanConfig(ent_threshold=0.3)
