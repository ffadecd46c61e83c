"""focus.v1: relation masks, shared/task layer split, overfit + save/load, Chinese text, long sentences."""

import random

import pytest
import torch

from mlcore import load_model, train_model
from mlcore.alignment import build_docs, word_spans
from mlcore.api import _build
from mlcore.archs.focus import FocusConfig, attention_bias, relation_context, relation_mask
from mlcore.encoder import load_pretrained_encoder, load_tokenizer
from mlcore.types import Example

from .helpers import make_example, make_tiny_encoder, toy_examples_list

FAST = {"epochs": 60, "batch_size": 4, "lr": 2e-3, "head_lr": 5e-3, "warmup_ratio": 0.0, "seed": 1}


def _model(encoder_dir, schema, impl="sdpa", **cfg):
    base = load_pretrained_encoder(encoder_dir)
    base.set_attn_implementation(impl)
    return _build("focus.v1", FocusConfig(**cfg), schema, base, load_tokenizer(encoder_dir)).eval()


def _spans(pred):
    return [(m.start, m.end, m.type) for m in pred.mentions]


# ---- masks ----------------------------------------------------------------------------------------------
def test_relation_mask_hand_example():
    # [CLS] w1 w2 w3 w4 w5 [SEP] <pad>: head = w1 w2 (positions 1, 2), tail = w4 (position 4)
    valid = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    focus = torch.tensor([[1, 1, 1, 0, 1, 0, 0, 0]], dtype=torch.bool)
    sees = lambda vis, i: torch.nonzero(vis[0, i]).flatten().tolist()  # noqa: E731
    everything = [0, 1, 2, 3, 4, 5, 6]

    eq13 = relation_mask(valid, focus, "eq13")
    assert eq13.shape == (1, 8, 8)
    assert sees(eq13, 0) == [0, 1, 2, 4]  # [CLS]: itself and the two entities only
    for i in (1, 2, 3, 4, 5, 6, 7):  # entities and other tokens see the whole sentence, never padding
        assert sees(eq13, i) == everything

    eq14 = relation_mask(valid, focus, "eq14")
    for i in (0, 1, 2, 4):  # [CLS] and entity wordpieces see only each other
        assert sees(eq14, i) == [0, 1, 2, 4]
    for i in (3, 5, 6, 7):
        assert sees(eq14, i) == everything

    bias = attention_bias(eq13, torch.float32)
    assert bias.shape == (1, 1, 8, 8)
    assert bias[0, 0, 0, 1] == 0 and bias[0, 0, 0, 3] == torch.finfo(torch.float32).min
    with pytest.raises(ValueError):
        relation_mask(valid, focus, "eq15")


def test_relation_context_truncates_around_the_pair():
    assert relation_context(10, (1, 2), (7, 9), 12) == list(range(10))
    # pair fits one window: a contiguous window of `content` wordpieces holding both entities
    ctx = relation_context(100, (40, 42), (47, 48), 14)
    assert len(ctx) == 14 and ctx == list(range(ctx[0], ctx[0] + 14)) and ctx[0] <= 40 and ctx[-1] >= 47
    # far apart: two half windows, each entity inside one, nothing longer than the window
    ctx = relation_context(100, (90, 93), (3, 5), 14)
    assert len(ctx) == 14 and ctx == sorted(set(ctx))
    assert {3, 4, 90, 91, 92} <= set(ctx)
    # clamped at the sentence ends
    assert relation_context(30, (0, 1), (29, 30), 10) == [0, 1, 2, 3, 4, 25, 26, 27, 28, 29]


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_layer_split_matches_the_plain_encoder(tiny_encoder, toy_schema, impl):
    torch.manual_seed(0)
    model = _model(tiny_encoder, toy_schema, impl, task_layers=1, max_wordpieces=8)  # forces windows
    docs = build_docs(toy_examples_list(), load_tokenizer(tiny_encoder), toy_schema)
    docs += build_docs(
        [Example(text="HbA1c " + "stays high " * 5 + "above 7 %")], load_tokenizer(tiny_encoder), toy_schema
    )
    assert max(len(d.wp_ids) for d in docs) > model.encoder.content
    with torch.no_grad():
        ps = model.shared_pass(docs)
        hidden, mask, _ = model.encoder([d.wp_ids for d in docs])
        # shared layers + NER layers with a padding-only mask == the encoder's own forward (windowed)
        torch.testing.assert_close(ps.hidden, hidden, atol=1e-5, rtol=1e-5)
        assert torch.equal(ps.mask, mask)
        # RE layers (fresh copies) with nothing masked reproduce the NER layers on a short doc
        d = docs[0]
        n = len(d.wp_ids)
        idx, valid, _ = model.relation_inputs(ps, docs, [(0, (0, 1), (n - 1, n))])
        x = model._run(model.re_layers, ps.lower[idx], relation_mask(valid, valid, "eq13"))
        ner_win = model._run(model.ner_layers, ps.lower[idx], valid.unsqueeze(1).expand(-1, n + 2, -1))
        torch.testing.assert_close(x, ner_win, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(x[0, 1:-1], hidden[0, :n], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("variant", ["eq13", "eq14"])
def test_focused_cls_sees_only_what_the_mask_allows(tiny_encoder, toy_schema, variant):
    # K = all layers: the RE branch starts from embeddings, so under eq14 the [CLS] output depends only
    # on [CLS] and the entity wordpieces; under eq13 the entities see the sentence, so [CLS] does too.
    torch.manual_seed(0)
    model = _model(tiny_encoder, toy_schema, task_layers=2, mask_variant=variant)
    tok = load_tokenizer(tiny_encoder)
    texts = ["insulin dose 10 units", "insulin given 10 units"]
    docs = build_docs([Example(text=t) for t in texts], tok, toy_schema, with_gold=False)
    assert len(docs[0].wp_ids) == len(docs[1].wp_ids) and docs[0].wp_ids[1] != docs[1].wp_ids[1]
    n = len(docs[0].wp_ids)
    with torch.no_grad():
        ps = model.shared_pass(docs)
        cls = model.relation_cls(ps, docs, [(0, (0, 1), (n - 2, n)), (1, (0, 1), (n - 2, n))])
    same = torch.allclose(cls[0], cls[1], atol=1e-6)
    assert same == (variant == "eq14")


@pytest.mark.parametrize("variant,task_layers", [("eq13", 1), ("eq13", 2), ("eq14", 1), ("eq14", 2)])
def test_focused_rows_equal_the_replicated_sequences(
    tiny_encoder, short_encoder, toy_schema, variant, task_layers
):
    # relation_cls_focused computes only the rows the [CLS] output depends on; it must be the same
    # function as running the K RE layers over every pair's whole masked sequence
    torch.manual_seed(0)
    model = _model(tiny_encoder, toy_schema, task_layers=task_layers, mask_variant=variant, pair_chunk=1)
    tok = load_tokenizer(tiny_encoder)
    texts = [
        "HbA1c above 7 % within three months",
        "no prior insulin",
        "pregnant or breastfeeding women over 18",
    ]
    docs = build_docs([Example(text=t) for t in texts], tok, toy_schema, with_gold=False)
    pairs = []
    for b, d in enumerate(docs):
        n = len(d.wp_ids)
        assert n >= 3
        pairs += [(b, (0, 1), (n - 1, n)), (b, (n - 1, n), (0, 2)), (b, (0, 2), (1, 3)), (b, (1, 2), (1, 2))]
    pairs = pairs * 3  # 36 pairs: more than one focused call (32 x pair_chunk each)
    with torch.no_grad():
        ps = model.shared_pass(docs)
        slow = model.relation_cls_replicated(ps, docs, pairs)
        fast = model.relation_cls_focused(ps, docs, pairs)
        torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.relation_cls(ps, docs, pairs), slow, atol=1e-5, rtol=1e-5)
    # a batch mixing a sentence longer than the window (replicated, truncated context) with short ones
    model = _model(short_encoder, toy_schema, task_layers=task_layers, mask_variant=variant)
    tok = load_tokenizer(short_encoder)
    long_text = "HbA1c was measured at every visit during the long follow up and stayed above 7 %"
    docs = build_docs(
        [Example(text=t) for t in [texts[0], long_text, texts[1]]], tok, toy_schema, with_gold=False
    )
    assert len(docs[1].wp_ids) > model.encoder.content >= max(len(docs[0].wp_ids), len(docs[2].wp_ids))
    n1 = len(docs[1].wp_ids)
    pairs = [(0, (0, 1), (2, 3)), (1, (0, 1), (n1 - 1, n1)), (2, (0, 1), (1, 2)), (1, (2, 3), (0, 1))]
    with torch.no_grad():
        ps = model.shared_pass(docs)
        torch.testing.assert_close(
            model.relation_cls(ps, docs, pairs),
            model.relation_cls_replicated(ps, docs, pairs),
            atol=1e-5,
            rtol=1e-5,
        )


def test_config_validation(tiny_encoder, toy_schema):
    with pytest.raises(ValueError, match="only 2 layers"):
        _model(tiny_encoder, toy_schema, task_layers=3)
    with pytest.raises(ValueError):
        FocusConfig(task_layers=0)
    with pytest.raises(ValueError):
        FocusConfig(mask_variant="eq12")


# ---- training -------------------------------------------------------------------------------------------
def _train_and_check(tmp_path, examples, schema, encoder, config):
    metrics = train_model(
        examples,
        examples,
        schema,
        tmp_path / "m",
        arch="focus.v1",
        encoder=encoder,
        config=config,
        device="cpu",
    )
    hist = metrics["history"]
    assert hist[-1]["train_loss"] < 0.2 * hist[0]["train_loss"]
    assert metrics["dev"]["entities"]["micro"]["f1"] == 100.0
    assert metrics["dev"]["relations"]["micro"]["f1"] == 100.0
    return metrics


@pytest.mark.parametrize("variant", ["eq13", "eq14"])
@pytest.mark.parametrize("task_layers", [1, 2])
def test_focus_overfits_and_round_trips(tmp_path, tiny_encoder, toy_schema, variant, task_layers):
    examples = toy_examples_list()
    config = {**FAST, "mask_variant": variant, "task_layers": task_layers}
    _train_and_check(tmp_path, examples, toy_schema, tiny_encoder, config)
    model = load_model(tmp_path / "m")
    assert model.config["arch"] == "focus.v1"
    assert model.config["arch_config"]["mask_variant"] == variant
    preds = model.predict(examples)
    again = load_model(tmp_path / "m").predict(examples, batch_size=1, mc_samples=2)
    for ex, a, b in zip(examples, preds, again, strict=True):
        assert _spans(a) == _spans(b) == [(m.start, m.end, m.type) for m in ex.mentions]
        assert [(r.head, r.tail, r.type) for r in a.relations] == [
            (r.head, r.tail, r.type) for r in b.relations
        ]
        assert [m.score for m in a.mentions] == pytest.approx([m.score for m in b.mentions], rel=1e-4)
        assert {"bald", "entity_bald_norm", "score", "entity_lc_max", "relation_lc_max"} <= set(b.uncertainty)
        # a relation BALD term exists where there are candidate pairs (two or more mentions)
        assert ("relation_bald_norm" in b.uncertainty) == (len(ex.mentions) > 1)
        assert len(b.embedding) == 32
    # symmetric AND comes back once, in text order; Has_value keeps its direction
    assert [(r.head, r.tail, r.type) for r in preds[0].relations] == [(0, 1, "AND")]
    assert [(r.head, r.tail, r.type) for r in preds[3].relations] == [(0, 1, "Has_value")]
    given = model.predict(examples, gold_entities=True)
    assert [(r.head, r.tail, r.type) for r in given[1].relations] == [(0, 1, "Has_value")]


def test_focus_chinese_text_character_offsets(tmp_path, tiny_encoder, toy_schema):
    # Plain Chinese text, no hand-made tokens: the word splitter makes each ideograph a word (Chinese has no
    # spaces), so mentions inside a run of ideographs are predictable.
    assert word_spans("心火和目火") == [(i, i + 1) for i in range(5)]
    examples = [
        make_example("心火和目火", [("心火", "Condition"), ("目火", "Condition")], [(0, 1, "AND")], "a"),
        make_example("口火有二十", [("口火", "Condition"), ("二十", "Value")], [(0, 1, "Has_value")], "b"),
        make_example("食阿司匹林", [("阿司匹林", "Drug")], [], "c"),
        make_example(
            "阿司匹林，二十日", [("阿司匹林", "Drug"), ("二十日", "Value")], [(0, 1, "Has_value")], "d"
        ),
    ]
    tok = load_tokenizer(tiny_encoder)
    docs = build_docs(examples, tok, toy_schema, cut_at_mentions=False)
    for ex, d in zip(examples, docs, strict=True):
        chars = [(i, i + 1) for i, c in enumerate(ex.text)]
        assert d.words == chars and d.wp_word == list(range(len(ex.text)))  # one wordpiece per character
    assert (
        docs[0].wp_ids[0] != tok.unk_token_id and tok.unk_token_id in docs[2].wp_ids
    )  # 匹 is not in the vocab
    _train_and_check(tmp_path, examples, toy_schema, tiny_encoder, {**FAST, "task_layers": 1})
    preds = load_model(tmp_path / "m").predict(examples)
    for ex, p in zip(examples, preds, strict=True):
        assert _spans(p) == [(m.start, m.end, m.type) for m in ex.mentions]
        assert [p.text[m.start : m.end] for m in p.mentions] == [
            ex.text[m.start : m.end] for m in ex.mentions
        ]
        assert [(r.head, r.tail, r.type) for r in p.relations] == [
            (r.head, r.tail, r.type) for r in ex.relations
        ]
    assert [p.text[m.start : m.end] for m in preds[3].mentions] == ["阿司匹林", "二十日"]


@pytest.fixture(scope="module")
def short_encoder(tmp_path_factory) -> str:
    return make_tiny_encoder(tmp_path_factory.mktemp("short_encoder"), max_position_embeddings=16)


def test_focus_long_sentence_beyond_the_window(tmp_path, short_encoder, toy_schema):
    far = make_example(
        "HbA1c was measured at every visit during the long follow up and stayed above 7 %",
        [("HbA1c", "Condition"), ("7 %", "Value")],
        [(0, 1, "Has_value")],
        "far",
    )
    examples = [*toy_examples_list(), far]
    tok = load_tokenizer(short_encoder)
    doc = build_docs([far], tok, toy_schema)[0]
    content = 16 - 2
    assert len(doc.wp_ids) > content
    n = len(doc.wp_ids)
    head_end = doc.wp_word.index(doc.ents[0][1])  # HbA1c is the first word(s), 7 % the last
    tail_start = doc.wp_word.index(doc.ents[1][0])
    assert n > content  # the head-to-tail stretch (the whole sentence) does not fit one window
    ctx = relation_context(n, (0, head_end), (tail_start, n), content)
    assert len(ctx) == content and set(range(head_end)) | set(range(tail_start, n)) <= set(ctx)

    _train_and_check(tmp_path, examples, toy_schema, short_encoder, {**FAST, "epochs": 80, "task_layers": 1})
    model = load_model(tmp_path / "m")
    assert model.model.encoder.max_len == 16
    pred = model.predict([far], mc_samples=2)[0]
    assert _spans(pred) == [(m.start, m.end, m.type) for m in far.mentions]
    assert [(r.head, r.tail, r.type) for r in pred.relations] == [(0, 1, "Has_value")]
    given = model.predict([far], gold_entities=True)[0]
    assert [(r.head, r.tail, r.type) for r in given.relations] == [(0, 1, "Has_value")]


def test_loss_samples_negatives_with_the_given_rng(tiny_encoder, toy_schema):
    torch.manual_seed(0)
    model = _model(tiny_encoder, toy_schema, max_neg_pairs=1)  # eval mode: no dropout, only sampling varies
    many = make_example(
        "Diabetes , asthma , gout and insulin",
        [("Diabetes", "Condition"), ("asthma", "Condition"), ("gout", "Condition"), ("insulin", "Drug")],
        [(0, 1, "AND")],
        "m",
    )
    docs = build_docs([many], load_tokenizer(tiny_encoder), toy_schema)
    with torch.no_grad():
        loss = lambda seed: float(model.loss(docs, random.Random(seed))["relation_loss"])  # noqa: E731
        assert loss(3) == loss(3)
        assert len({round(loss(s), 6) for s in range(6)}) > 1
