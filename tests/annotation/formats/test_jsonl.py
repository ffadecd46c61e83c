from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotation.formats import (
    CDocument,
    CGroup,
    CMention,
    CSentence,
    FormatError,
    jsonl_lines,
    read_brat,
    read_jsonl,
    read_text,
    write_jsonl,
)


def _error(content: str, name: str = "d.jsonl") -> list[str]:
    with pytest.raises(FormatError) as info:
        read_jsonl({name: content.encode("utf-8")})
    return [str(p) for p in info.value.problems]


def test_reads_doccano_shapes(data_dir: Path):
    first, second = read_jsonl(data_dir / "doccano.jsonl")
    assert first.external_id == "1"
    assert [(m.id, m.type, first.mention_text(m)) for m in first.mentions] == [
        ("10", "Measurement", "Hémoglobine"),
        ("11", "Value", "≥ 7 %"),
    ]
    assert [(r.id, r.head, r.tail, r.type) for r in first.relations] == [("5", "10", "11", "Has_value")]
    assert first.metadata == {"jsonl_extra": {"Comments": ["check unit"]}}
    # "label": [[start, end, label]], offsets in code points (the emoji is one)
    assert [second.mention_text(m) for m in second.mentions] == ["β-blockers", "daily", "insulin"]
    assert [second.sentence_text(s) for s in second.sentences] == [
        "β-blockers allowed 😀 daily",
        "no insulin",
    ]
    assert second.metadata == {"source": "hand-made"}


def test_own_output_reads_back_losslessly(brat_dir: Path, data_dir: Path, tmp_path: Path):
    docs = read_brat(brat_dir)  # CRLF, discontinuous, nested, duplicates, groups, attributes, notes
    docs += read_jsonl(data_dir / "doccano.jsonl")
    docs += read_text("Inclusion Criteria:\n - Age ≥ 18\n - ECOG 0-1\n", mode="sections", name="NCT7")
    docs.append(
        CDocument(
            "custom",
            "a b c",
            mentions=[CMention("m1", "X", [(0, 1), (4, 5)], "a c"), CMention("m2", "X", [(2, 3)])],
            groups=[CGroup("G1", "OR", ["m1", "m2"])],
            sentences=[],
            metadata={"nested": {"k": [1, 2]}},
        )
    )
    assert write_jsonl(docs, tmp_path / "out.jsonl") == len(docs)
    assert read_jsonl(tmp_path / "out.jsonl") == docs
    line = json.loads(next(jsonl_lines(docs[1:2])))
    t10 = next(e for e in line["entities"] if e["id"] == "T10")
    assert t10 == {
        "id": "T10",
        "label": "Drug",
        "start_offset": 46,
        "end_offset": 84,
        "fragments": [[46, 47], [76, 84]],
        "text": "β blockers",
    }
    assert "sentences" not in line  # the default (non-blank lines) is not written
    assert line["groups"][1] == {"id": "*", "type": "OR", "members": ["T5", "T10", "T7"]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "abc"}\n{"text": "abc",}\n', "d.jsonl:2: invalid JSON: "),
        ('["abc"]', "d.jsonl:1: expected a JSON object"),
        ('{"text": 5}', 'd.jsonl:1: "text" must be a string'),
        (
            '{"text": "abc", "entities": [{"id": 1, "label": "X", "start_offset": 1, "end_offset": 9}]}',
            "d.jsonl:1: entity 1: end 9 is past the end of the text (3 chars)",
        ),
        (
            '{"text": "abc", "entities": [{"id": 1, "label": "X", "start_offset": 2, "end_offset": 1}]}',
            "d.jsonl:1: entity 1: start 2 is not before end 1",
        ),
        (
            '{"text": "abc", "entities": [{"id": 1, "label": "X", "start_offset": -1, "end_offset": 1}]}',
            "d.jsonl:1: entity 1: negative offset",
        ),
        (
            '{"text": "abc", "entities": [{"id": 1, "label": "X", "start_offset": "0", "end_offset": 1}]}',
            "d.jsonl:1: entity 1: offsets must be integers, got '0' and 1",
        ),
        (
            '{"text": "abc", "entities": [{"id": 1, "label": "X", "start_offset": 0, "end_offset": 1},'
            ' {"id": 1, "label": "Y", "start_offset": 1, "end_offset": 2}]}',
            "d.jsonl:1: duplicate entity id 1",
        ),
        (
            '{"text": "abc", "entities": [{"id": 1, "label": "X", "start_offset": 0, "end_offset": 1}],'
            ' "relations": [{"id": 1, "from_id": 1, "to_id": 2, "type": "R"}]}',
            "d.jsonl:1: relation 1 refers to a missing entity id 2",
        ),
        (
            '{"text": "abc", "groups": [{"id": "*", "type": "OR", "members": ["T1"]}]}',
            "d.jsonl:1: group refers to a missing entity id 'T1'",
        ),
        (
            '{"text": "abc", "label": [[0, 1]]}',
            'd.jsonl:1: "label": expected [start, end, label], got [0, 1]',
        ),
        (
            '{"id": 1, "text": "a"}\n\n{"id": "1", "text": "b"}',
            "d.jsonl:3: document id '1' is used twice (d.jsonl:1)",
        ),
    ],
)
def test_malformed_lines(content: str, message: str):
    [problem] = _error(content)
    assert problem.startswith(message)


def test_all_lines_are_checked():
    content = '{"text": "ok"}\nnot json\n{"text": "abc", "label": [[0, 5, "X"]]}\n'
    problems = _error(content)
    assert [p.split(": ")[0] for p in problems] == ["d.jsonl:2", "d.jsonl:3"]


def test_sentences_written_only_when_not_the_lines():
    doc = CDocument("d", "one. two.\nthree", sentences=[CSentence(0, 4), CSentence(5, 9), CSentence(10, 15)])
    line = json.loads(next(jsonl_lines([doc])))
    assert line["sentences"] == [[0, 4], [5, 9], [10, 15]]
    assert read_jsonl({"d.jsonl": (json.dumps(line) + "\n").encode()})[0].sentences == doc.sentences
