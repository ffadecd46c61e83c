"""Word tokens, wordpiece alignment (non-ASCII, windowing) and SpERT JSON round trips."""

import json

import pytest
import torch

from mlcore.alignment import build_docs, mention_word_span, word_spans
from mlcore.encoder import WindowedEncoder, encoder_from_config, load_tokenizer
from mlcore.io import read_spert_json, write_spert_json, write_types_json
from mlcore.types import Example, Mention, Relation, RelationTypeSpec, Schema


def test_word_spans_cut_at_mention_boundaries_non_ascii():
    text = "Hämoglobin≥10 g/dL für Männer"
    # mention "10" sits inside the regex word "10"? no: "≥" splits; mention inside "Männer" -> cut
    m1 = Mention(text.index("10"), text.index("10") + 2, "Value")
    m2 = Mention(text.index("Männer"), text.index("Männer") + 4, "Person")  # "Männ"
    words = word_spans(text, [m1, m2])
    toks = [text[s:e] for s, e in words]
    assert toks == ["Hämoglobin", "≥", "10", "g", "/", "dL", "für", "Männ", "er"]
    assert mention_word_span(words, m2.start, m2.end) == (7, 8)
    assert mention_word_span(words, 0, len(text)) == (0, len(words))
    assert mention_word_span(words, 10, 10) is None


def test_cjk_ideographs_are_one_word_each_latin_words_stay_whole():
    text = "患者有高血压 and HbA1c>7%"
    assert [text[s:e] for s, e in word_spans(text)] == [
        "患", "者", "有", "高", "血", "压", "and", "HbA1c", ">", "7", "%",
    ]
    # without that, a mention inside a run of ideographs would have no word boundary to land on
    assert word_spans("心火和目火", [Mention(3, 5, "Condition")]) == [(i, i + 1) for i in range(5)]


def test_given_tokens_are_cut_and_uncovered_mentions_covered():
    text = "ab cd"
    words = word_spans(text, [Mention(1, 2, "X")], tokens=[(0, 2)])  # token "cd" not given
    assert words == [(0, 1), (1, 2), (3, 5)] or words == [(0, 1), (1, 2)]
    words = word_spans(text, [Mention(3, 5, "X")], tokens=[(0, 2)])
    assert (3, 5) in words


def test_every_word_gets_wordpieces_even_when_tokenizer_drops_it(tiny_encoder):
    tok = load_tokenizer(tiny_encoder)
    text = "Fieber \u200b über 38,5 °C"
    ex = Example(text, [Mention(text.index("38"), text.index("38") + 4, "Value")])
    schema = Schema(["Value"], [])
    (doc,) = build_docs([ex], tok, schema)
    assert sorted(set(doc.wp_word)) == list(range(doc.n_words))
    assert doc.ents == [(mention_word_span(doc.words, ex.mentions[0].start, ex.mentions[0].end) + (0,))]
    assert tok.unk_token_id in doc.wp_ids  # the zero-width space word


def test_windowed_encoder_covers_long_sequences_and_matches_short(tiny_encoder):
    tok = load_tokenizer(tiny_encoder)
    torch.manual_seed(0)
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_encoder, local_files_only=True).eval()
    enc = WindowedEncoder(model, tok, max_len=12, overlap=4)
    assert enc.windows(10) == [0]
    starts = enc.windows(25)
    assert starts[0] == 0 and starts[-1] == 25 - 10
    long_seq = list(range(1000, 1025))
    short_seq = list(range(2000, 2008))
    with torch.no_grad():
        hidden, mask, cls = enc([long_seq, short_seq])
        assert hidden.shape[:2] == (2, 25) and mask[0].all() and mask[1].sum() == 8
        assert hidden[0].abs().sum(-1).gt(0).all()  # every wordpiece got a state
        alone, _, cls_alone = enc([short_seq])
        assert torch.allclose(alone[0], hidden[1, :8], atol=1e-5)
        assert torch.allclose(cls_alone[0], cls[1], atol=1e-5)
    assert encoder_from_config(tiny_encoder) is not None


SPERT = [
    {
        "orig_id": "s1",
        "tokens": ["Über", "60", "Jahre", "alt"],
        "entities": [
            {"type": "Value", "start": 0, "end": 3},
            {"type": "Value", "start": 1, "end": 2},
            {"type": "Person", "start": 3, "end": 4},
        ],
        "relations": [{"type": "Has_value", "head": 2, "tail": 0}],
    },
    {"orig_id": "s2", "tokens": ["none"], "entities": [], "relations": []},
]


def test_read_write_spert_json_round_trip(tmp_path):
    p = tmp_path / "d.json"
    p.write_text(json.dumps(SPERT, ensure_ascii=False), encoding="utf-8")
    exs, schema = read_spert_json(p)
    assert schema.entity_types == ["Value", "Person"] and schema.relation_names == ["Has_value"]
    assert exs[0].text == "Über 60 Jahre alt"
    assert [(m.start, m.end) for m in exs[0].mentions] == [(0, 13), (5, 7), (14, 17)]
    out = tmp_path / "o.json"
    write_spert_json(exs, out)
    assert json.loads(out.read_text(encoding="utf-8")) == SPERT

    types = tmp_path / "types.json"
    write_types_json(
        Schema(["Value", "Person"], [RelationTypeSpec("Has_value", allowed_tails=["Value"])]), types
    )
    exs2, schema2 = read_spert_json(p, types)
    assert schema2.relation_types[0].allowed_tails == ["Value"]
    assert Schema.from_dict(schema2.to_dict()) == schema2

    bad = tmp_path / "types_bad.json"
    bad.write_text(json.dumps({"entities": {"Value": {}}, "relations": {}}), encoding="utf-8")
    with pytest.raises(ValueError, match="Person"):
        read_spert_json(p, bad)


def test_write_spert_cuts_tokens_at_mentions(tmp_path):
    ex = Example("HbA1c>7%", [Mention(0, 3, "A"), Mention(6, 7, "V")], [Relation(0, 1, "R", 0.5)], id="x")
    write_spert_json([ex], tmp_path / "o.json")
    (doc,) = json.loads((tmp_path / "o.json").read_text())
    assert doc["tokens"] == ["HbA", "1c", ">", "7", "%"]
    assert doc["entities"][0] == {"type": "A", "start": 0, "end": 1}
    assert doc["relations"][0]["score"] == 0.5
