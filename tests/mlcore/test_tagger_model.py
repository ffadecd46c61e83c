"""tagger.v1: tag codec, nested reduction, CRF, overfit + save/load round trip."""

import pytest
import torch

from mlcore import load_model, train_model
from mlcore.archs.tagger import CRF, reduce_nested

from .helpers import toy_examples_list

FAST = {"epochs": 60, "batch_size": 4, "lr": 2e-3, "head_lr": 5e-3, "warmup_ratio": 0.0, "seed": 1}


def _toy():
    return toy_examples_list()


def test_reduce_nested_longest_first():
    ents = [(0, 2, 0), (0, 5, 1), (4, 7, 0), (6, 8, 2), (1, 2, 0)]
    # (0,5) kept; (0,2),(1,2),(4,7) overlap it; (6,8) is free
    assert reduce_nested(ents) == [1, 3]


def test_crf_decodes_best_path_and_nll_positive():
    torch.manual_seed(0)
    crf = CRF(3)
    em = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    paths = crf.decode(em, mask)
    # zero transitions: Viterbi = per-position argmax
    assert paths[0] == em[0].argmax(-1).tolist() and paths[1] == em[1, :2].argmax(-1).tolist()
    tags = torch.tensor([paths[0], paths[1] + [0, 0]])
    assert crf.nll(em, tags, mask) > 0


@pytest.mark.parametrize(
    "overrides", [{}, {"scheme": "BIO", "crf": True, "biaffine": "bilinear", "rel_negatives": "predicted"}]
)
def test_tagger_overfits_and_round_trips(tmp_path, tiny_encoder, toy_schema, overrides):
    examples = _toy()
    metrics = train_model(
        examples,
        examples,
        toy_schema,
        tmp_path / "m",
        arch="tagger.v1",
        encoder=tiny_encoder,
        config={**FAST, **overrides},
        device="cpu",
    )
    hist = metrics["history"]
    assert hist[-1]["train_loss"] < 0.2 * hist[0]["train_loss"]
    assert metrics["dev"]["entities"]["micro"]["f1"] == 100.0
    assert metrics["dev"]["relations"]["micro"]["f1"] == 100.0
    model = load_model(tmp_path / "m")
    assert model.config["arch"] == "tagger.v1"
    assert model.config["train_config"]["relation_warmup_epochs"] == 1.0
    preds = model.predict(examples)
    again = load_model(tmp_path / "m").predict(examples, batch_size=1, mc_samples=2)
    for a, b in zip(preds, again, strict=True):
        assert [(m.start, m.end, m.type) for m in a.mentions] == [
            (m.start, m.end, m.type) for m in b.mentions
        ]
        assert [(r.head, r.tail, r.type) for r in a.relations] == [
            (r.head, r.tail, r.type) for r in b.relations
        ]
        assert "bald" in b.uncertainty


def test_tag_codec_round_trip(tiny_encoder, toy_schema):
    from mlcore.api import _build
    from mlcore.archs.tagger import TaggerConfig
    from mlcore.encoder import load_pretrained_encoder, load_tokenizer

    tok = load_tokenizer(tiny_encoder)
    for scheme in ("BIO", "BIOES"):
        m = _build(
            "tagger.v1", TaggerConfig(scheme=scheme), toy_schema, load_pretrained_encoder(tiny_encoder), tok
        )
        ents = [(0, 1, 0), (1, 4, 2), (5, 7, 1)]
        assert m.decode_tags(m.encode_tags(8, ents)) == ents
