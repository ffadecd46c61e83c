from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotation.formats import (
    CDocument,
    CMention,
    CRelation,
    CSentence,
    FormatError,
    read_brat,
    read_spert,
    spert_sentences,
    spert_types,
    write_spert,
)

from .conftest import corpus


def _error(sentences, name: str = "s.json", **options) -> list[str]:
    with pytest.raises(FormatError) as info:
        read_spert({name: json.dumps(sentences).encode("utf-8")}, **options)
    return [str(p) for p in info.value.problems]


def test_reads_and_groups_sentences_by_document(data_dir: Path):
    docs, types = read_spert(data_dir / "spert_sample.json", data_dir / "spert_types.json")
    assert types is not None and types["relations"]["AND"]["symmetric"] is True
    assert [d.external_id for d in docs] == ["NCT00000009_inc", "17", "3"]
    doc = docs[0]
    assert (doc.group_key, doc.section) == ("NCT00000009", "inclusion")
    assert doc.text == "Hémoglobine ≥ 7 %\nno β-blockers 😀 within 30 days"
    assert doc.sentences == [CSentence(0, 17), CSentence(18, 48)]
    assert [(m.id, m.type, doc.mention_text(m)) for m in doc.mentions] == [
        ("T1", "Measurement", "Hémoglobine"),
        ("T2", "Value", "≥ 7 %"),
        ("T3", "Negation", "no"),
        ("T4", "Drug", "β-blockers"),
        ("T5", "Temporal", "within 30 days"),
        ("T6", "Value", "30 days"),
        ("T7", "Value", "30 days"),  # a duplicate stays a duplicate
    ]
    # relation head/tail index the sentence's own entities
    assert [(r.type, r.head, r.tail) for r in doc.relations] == [
        ("Has_value", "T1", "T2"),
        ("Has_negation", "T4", "T3"),
        ("Has_temporal", "T4", "T5"),
    ]
    assert docs[1].text == "John Wilkes Booth killed Lincoln ." and len(docs[1].relations) == 1


def test_round_trip_keeps_tokens_entities_and_relations(data_dir: Path, tmp_path: Path):
    docs, _ = read_spert(data_dir / "spert_sample.json")
    stats = write_spert(docs, tmp_path / "out.json", types_path=tmp_path / "types.json")
    assert (stats.sentences, stats.mentions, stats.relations, stats.dropped_mentions) == (4, 9, 4, 0)
    original = json.loads((data_dir / "spert_sample.json").read_text(encoding="utf-8"))
    written = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    by_tokens = {tuple(s["tokens"]): s for s in written}
    for sentence in original:
        copy = by_tokens[tuple(sentence["tokens"])]
        assert (copy["entities"], copy["relations"]) == (sentence["entities"], sentence["relations"])
    assert written[0]["orig_id"] == "NCT00000009_inc:0" and written[1]["orig_id"] == "NCT00000009_inc:18"
    again, _ = read_spert(tmp_path / "out.json")
    assert [(d.external_id, d.text, d.mentions, d.relations) for d in again] == [
        (d.external_id, d.text, d.mentions, d.relations) for d in docs
    ]
    types = json.loads((tmp_path / "types.json").read_text(encoding="utf-8"))
    assert sorted(types["entities"]) == ["Drug", "Measurement", "Negation", "Peop", "Temporal", "Value"]
    assert types["relations"]["Kill"] == {"short": "Kill", "verbose": "Kill", "symmetric": False}


def test_writer_cuts_tokens_at_mention_boundaries_and_drops_what_does_not_fit():
    text = "Hb≥7 g/dL and β-blockers\r\nover 2 lines\r\n"
    doc = CDocument(
        "NCT5_exc",
        text,
        mentions=[
            CMention("T1", "Measurement", [(0, 2)]),  # "Hb" inside the token "Hb≥7"
            CMention("T2", "Value", [(2, 9)]),  # "≥7 g/dL"
            CMention("T3", "Drug", [(16, 24)]),  # "blockers" inside "β-blockers"
            CMention("T4", "Drug", [(14, 15), (16, 24)]),  # discontinuous "β" + "blockers"
            CMention("T5", "Value", [(19, 32)]),  # crosses the line break: dropped
            CMention("T6", "Value", [(26, 32)]),  # "over 2" on line 2
            CMention("T7", "Value", [(26, 40)]),  # swallows the "\r\n": trimmed, kept
        ],
        relations=[
            CRelation("R1", "Has_value", "T1", "T2"),
            CRelation("R2", "AND", "T3", "T5"),  # an end was dropped
            CRelation("R3", "AND", "T3", "T6"),  # ends in different sentences
        ],
        sentences=[CSentence(0, 24), CSentence(26, 38)],
    )
    sentences, stats = spert_sentences([doc])
    assert [s["tokens"] for s in sentences] == [
        ["Hb", "≥7", "g/dL", "and", "β-", "blockers"],
        ["over", "2", "lines"],
    ]
    assert sentences[0]["entities"] == [
        {"type": "Measurement", "start": 0, "end": 1},
        {"type": "Value", "start": 1, "end": 3},
        {"type": "Drug", "start": 5, "end": 6},
        {"type": "Drug", "start": 4, "end": 6},  # covering span
    ]
    assert sentences[0]["relations"] == [{"type": "Has_value", "head": 0, "tail": 1}]
    assert sentences[1]["entities"] == [
        {"type": "Value", "start": 0, "end": 2},
        {"type": "Value", "start": 0, "end": 3},
    ]
    assert sentences[1]["orig_id"] == "NCT5_exc:26"
    assert (stats.dropped_mentions, stats.dropped_relations) == (1, 2)

    skipped, stats = spert_sentences([doc], discontinuous="skip")
    assert [e["start"] for e in skipped[0]["entities"]] == [0, 1, 5]
    assert stats.dropped_mentions == 2
    with pytest.raises(FormatError, match="discontinuous: must be one of cover, skip; got 'drop'"):
        spert_sentences([doc], discontinuous="drop")


@pytest.mark.parametrize(
    ("sentences", "message"),
    [
        ({"tokens": []}, "s.json: expected a JSON list of sentences"),
        ([{"tokens": ["a", 1]}], 's.json:0: "tokens" must be a list of strings'),
        (
            [{"tokens": ["a"], "entities": [{"type": "X", "start": 0, "end": 2}]}],
            "s.json:0: entity 0: span [0, 2) is not within the 1 tokens",
        ),
        (
            [{"tokens": ["a", "b"], "entities": [{"type": "X", "start": 1, "end": 1}]}],
            "s.json:0: entity 0: span [1, 1) is not within the 2 tokens",
        ),
        (
            [{"tokens": ["a"], "entities": [{"type": "X", "start": "0", "end": 1}]}],
            "s.json:0: entity 0: start and end must be integers",
        ),
        (
            [
                {"tokens": ["a"]},
                {
                    "tokens": ["a"],
                    "entities": [{"type": "X", "start": 0, "end": 1}],
                    "relations": [{"type": "R", "head": 0, "tail": 1}],
                },
            ],
            "s.json:1: relation 0: tail 1 is not an entity index (0..0)",
        ),
        (
            [{"tokens": ["a"], "entities": [{"start": 0, "end": 1}]}],
            "s.json:0: entity 0: expected {'type', 'start', 'end'}",
        ),
    ],
)
def test_malformed_sentences(sentences, message: str):
    assert _error(sentences) == [message]


def test_invalid_json_and_types_checks(data_dir: Path):
    with pytest.raises(FormatError) as info:
        read_spert({"bad.json": b'[\n{"tokens": ["a"],\n}]'})
    [problem] = info.value.problems
    assert str(problem).startswith("bad.json:3: invalid JSON: ") and str(problem).endswith("(column 1)")
    problems = _error(
        [
            {
                "tokens": ["a", "b"],
                "entities": [{"type": "Drug", "start": 0, "end": 1}, {"type": "Gene", "start": 1, "end": 2}],
                "relations": [{"type": "Binds", "head": 0, "tail": 1}],
            }
        ],
        types_path=data_dir / "spert_types.json",
    )
    assert problems == [
        "s.json:0: entity 1: type 'Gene' is not in the types",
        "s.json:0: relation 0: type 'Binds' is not in the types",
    ]


def test_types_from_a_schema():
    schema = {
        "entity_types": [{"name": "Condition"}, {"name": "Value"}],
        "relation_types": [{"name": "Has_value"}, {"name": "AND", "symmetric": True}],
    }
    assert spert_types(schema) == {
        "entities": {
            "Condition": {"short": "Condition", "verbose": "Condition"},
            "Value": {"short": "Value", "verbose": "Value"},
        },
        "relations": {
            "Has_value": {"short": "Has_value", "verbose": "Has_value", "symmetric": False},
            "AND": {"short": "AND", "verbose": "AND", "symmetric": True},
        },
    }
    assert spert_types({"entities": ["A"], "relations": {"R": {"symmetric": True}}})["relations"]["R"][
        "symmetric"
    ]


def _sentence_view(sentences: list[dict]) -> list[tuple]:
    return [
        (
            s["tokens"],
            [(e["type"], e["start"], e["end"]) for e in s["entities"]],
            [(r["type"], r["head"], r["tail"]) for r in s["relations"]],
        )
        for s in sentences
    ]


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "types"),
    [
        ("chia_spert/train.json", "chia_spert/types.json"),
        ("chia_spert/dev.json", "chia_spert/types.json"),
        ("conll04/conll04_dev.json", "conll04/conll04_types.json"),
    ],
)
def test_corpus_read_write_read(name: str, types: str, tmp_path: Path):
    path = corpus(name)
    docs, loaded_types = read_spert(path, path.parent / Path(types).name)
    assert loaded_types is not None
    write_spert(docs, tmp_path / "out.json")
    original = json.loads(path.read_text(encoding="utf-8"))
    written = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert _sentence_view(written) == _sentence_view(original)
    again, _ = read_spert(tmp_path / "out.json")
    assert [(d.text, d.mentions, d.relations) for d in again] == [
        (d.text, d.mentions, d.relations) for d in docs
    ]


@pytest.mark.corpus
def test_chia_brat_to_spert_keeps_all_but_line_crossing_mentions(tmp_path: Path):
    docs = read_brat(corpus("chia"))
    stats = write_spert(docs, tmp_path / "chia.json", discontinuous="skip")
    assert stats.sentences == sum(len(d.sentences) for d in docs)
    discontinuous = sum(m.is_discontinuous for d in docs for m in d.mentions)
    assert stats.mentions + stats.dropped_mentions == sum(len(d.mentions) for d in docs)
    assert stats.dropped_mentions >= discontinuous
    sentences = json.loads((tmp_path / "chia.json").read_text(encoding="utf-8"))
    assert all(0 <= e["start"] < e["end"] <= len(s["tokens"]) for s in sentences for e in s["entities"])
