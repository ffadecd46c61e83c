"""tagger.v1: tag codec, nested reduction, CRF, options, overfit + save/load round trip."""

import pytest
import torch

from mlcore import load_model, train_model
from mlcore.api import _build, split_config
from mlcore.archs.tagger import CRF, TaggerConfig, TaggerModel, reduce_nested
from mlcore.encoder import load_pretrained_encoder, load_tokenizer

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
    "overrides",
    [
        {},
        {"scheme": "BIO", "crf": True, "biaffine": "bilinear", "rel_negatives": "predicted"},
        # Chen et al. RE-M1 head; Giorgi et al. ablations: no label embeddings, no entity pre-training
        {"re_head": "re_m1", "label_embeddings": False, "relation_warmup_epochs": 0},
        {"proj": "shared", "biaffine": "linear"},
        {"proj": "none", "crf": True},
    ],
    ids=["default", "bio_crf_bilinear_predicted", "re_m1_nolabel_nopretrain", "shared_linear", "noproj_crf"],
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
    assert model.config["train_config"]["relation_warmup_epochs"] == overrides.get(
        "relation_warmup_epochs", 1.0
    )
    assert {k: model.config["arch_config"][k] for k in overrides if k != "relation_warmup_epochs"} == {
        k: v for k, v in overrides.items() if k != "relation_warmup_epochs"
    }
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
    tok = load_tokenizer(tiny_encoder)
    for scheme in ("BIO", "BIOES"):
        m = _build(
            "tagger.v1", TaggerConfig(scheme=scheme), toy_schema, load_pretrained_encoder(tiny_encoder), tok
        )
        ents = [(0, 1, 0), (1, 4, 2), (5, 7, 1)]
        assert m.decode_tags(m.encode_tags(8, ents)) == ents


def _model(tiny_encoder, toy_schema, **kw) -> TaggerModel:
    tok = load_tokenizer(tiny_encoder)
    model = _build("tagger.v1", TaggerConfig(**kw), toy_schema, load_pretrained_encoder(tiny_encoder), tok)
    assert isinstance(model, TaggerModel)
    return model


def test_relation_head_options_shape_the_parameters(tiny_encoder, toy_schema):
    h, n_out = 32, 3  # tiny encoder hidden size; 2 relation types + NEG

    def shapes(m):
        return {k: tuple(v.shape) for k, v in m.state_dict().items() if not k.startswith("encoder.")}

    default = shapes(_model(tiny_encoder, toy_schema))
    assert default["bilinear"] == (n_out, 128, 128) and default["linear.weight"] == (n_out, 256)
    assert default["head_proj.out.weight"] == (128, h + 25) and "tail_proj.out.weight" in default
    assert "rel_fc.out.weight" not in default
    # proj="none": the bilinear tensor has the raw pair-input size (word state + tag embedding)
    none = shapes(_model(tiny_encoder, toy_schema, proj="none", tag_dim=7))
    assert none["bilinear"] == (n_out, h + 7, h + 7) and not any("_proj" in k for k in none)
    # no label embeddings and no FFNN: the biaffine runs on the word states themselves
    bare = shapes(_model(tiny_encoder, toy_schema, proj="none", label_embeddings=False))
    assert bare["bilinear"] == (n_out, h, h) and "tag_emb.weight" not in bare
    shared = shapes(_model(tiny_encoder, toy_schema, proj="shared", biaffine="linear"))
    assert "head_proj.out.weight" in shared and "tail_proj.out.weight" not in shared
    assert "bilinear" not in shared and shared["linear.weight"] == (n_out, 256)
    m1 = shapes(_model(tiny_encoder, toy_schema, re_head="re_m1"))
    assert m1["rel_fc.out.weight"] == (n_out, 128) and not {"bilinear", "linear.weight", "bias"} & set(m1)


@pytest.mark.parametrize(
    "kw", [{}, {"re_head": "re_m1"}, {"proj": "none", "biaffine": "linear"}, {"proj": "shared"}]
)
def test_pair_logits_mask_forbidden_type_pairs_and_depend_on_order(tiny_encoder, toy_schema, kw):
    torch.manual_seed(0)
    m = _model(tiny_encoder, toy_schema, **kw).eval()
    z = torch.randn(1, 4, m.encoder.hidden_size + m.cfg.tag_dim)
    b = torch.zeros(2, dtype=torch.long)
    cond, value = 0, 2  # Has_value (index 1 in the output) only from Condition/Drug to Value
    fwd = m._pair_logits(
        z,
        b,
        torch.tensor([0, 1]),
        b,
        torch.tensor([1, 0]),
        torch.tensor([cond, value]),
        torch.tensor([value, cond]),
    )
    assert fwd.shape == (2, 3)
    assert fwd[0, 1] > -1e3 and fwd[1, 1] == -1e4  # Value -> Condition is forbidden for Has_value
    assert fwd[1, 2] > -1e3  # AND is allowed both ways
    assert not torch.allclose(fwd[0, [0, 2]], fwd[1, [0, 2]])  # (h, t) and (t, h) score differently


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"re_head": "re_m3"}, "re_head must be one of 're_m2', 're_m1'"),
        ({"proj": "both"}, "proj must be one of"),
        ({"biaffine": "trilinear"}, "biaffine must be one of"),
        ({"scheme": "IO"}, "scheme must be one of 'BIO', 'BIOES'"),
        ({"rel_negatives": "all"}, "rel_negatives must be one of"),
        ({"re_head": "re_m1", "biaffine": "linear"}, "applies to re_head='re_m2' only"),
        ({"re_head": "re_m1", "proj": "shared"}, "re_m1' needs proj='separate'"),
        ({"re_head": "re_m1", "proj": "none"}, "re_m1' needs proj='separate'"),
    ],
)
def test_invalid_option_combinations_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        TaggerConfig(**kw)
    with pytest.raises(ValueError, match=match):  # refused before any encoder is loaded
        split_config("tagger.v1", kw)


def test_valid_ablation_combinations_are_accepted():
    for proj in ("separate", "shared", "none"):
        for biaffine in ("bilinear+linear", "bilinear", "linear"):
            TaggerConfig(proj=proj, biaffine=biaffine, label_embeddings=False)
    TaggerConfig(re_head="re_m1", label_embeddings=False)


def test_entity_pretraining_can_be_switched_off(tmp_path, tiny_encoder, toy_schema, monkeypatch):
    assert split_config("tagger.v1", None)[1].relation_warmup_epochs == 1.0
    assert split_config("tagger.v1", {"relation_warmup_epochs": 0})[1].relation_warmup_epochs == 0
    assert split_config("span.v1", None)[1].relation_warmup_epochs == 0.0
    weights: list[float] = []
    real_loss = TaggerModel.loss

    def recording_loss(self, docs, rng, rel_weight=1.0):
        weights.append(rel_weight)
        return real_loss(self, docs, rng, rel_weight=rel_weight)

    monkeypatch.setattr(TaggerModel, "loss", recording_loss)
    cfg = {**FAST, "epochs": 2, "batch_size": 2, "select_best": False}
    for i, extra in enumerate([{}, {"relation_warmup_epochs": 0}]):
        weights.clear()
        train_model(
            _toy(),
            [],
            toy_schema,
            tmp_path / str(i),
            arch="tagger.v1",
            encoder=tiny_encoder,
            config={**cfg, **extra},
            device="cpu",
        )
        if extra:
            assert weights == [1.0] * 4  # relation loss at full weight from the first step
        else:
            assert weights == [0.0, 0.5, 1.0, 1.0]  # ramp over the first epoch (2 steps)
