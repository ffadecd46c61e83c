from __future__ import annotations

from pathlib import Path

import pytest

from annotation.formats import CDocument, CMention, CRelation, FormatError, write_conll
from annotation.formats.conll import conll_lines

TEXT = "no calcium channel blockers\r\nβ-blockers ok"
DOC = CDocument(
    "d",
    TEXT,
    mentions=[
        CMention("T1", "Drug", [(3, 27)]),  # calcium channel blockers
        CMention("T2", "Qualifier", [(3, 10)]),  # calcium (nested)
        CMention("T3", "Drug", [(3, 27)]),  # duplicate
        CMention("T4", "Class", [(11, 27)]),  # channel blockers (nested, crossing T2? no: inside T1)
        CMention("T5", "Drug", [(29, 30), (31, 39)]),  # discontinuous β + blockers
        CMention("T6", "Negation", [(0, 2)]),
    ],
    relations=[CRelation("R1", "Has_negation", "T1", "T6")],
)


def _tags(nested: str = "outermost", discontinuous: str = "cover") -> list[list[str]]:
    sentences: list[list[str]] = [[]]
    for line in conll_lines([DOC], nested=nested, discontinuous=discontinuous):
        if line.startswith("-DOCSTART-"):
            continue
        if line:
            sentences[-1].append(line)
        elif sentences[-1]:
            sentences.append([])
    return [s for s in sentences if s]


def test_outermost_is_the_default_and_ties_go_to_the_type_name():
    assert _tags() == [
        ["no\tB-Negation", "calcium\tB-Drug", "channel\tI-Drug", "blockers\tI-Drug"],
        ["β-blockers\tB-Drug", "ok\tO"],  # the covering span of the discontinuous mention
    ]


def test_innermost_and_first():
    assert _tags("innermost")[0] == [
        "no\tB-Negation",
        "calcium\tB-Qualifier",
        "channel\tB-Class",
        "blockers\tI-Class",
    ]
    assert _tags("first")[0] == ["no\tB-Negation", "calcium\tB-Drug", "channel\tI-Drug", "blockers\tI-Drug"]


def test_discontinuous_skip_and_file_layout(tmp_path: Path):
    assert _tags(discontinuous="skip")[1] == ["β-blockers\tO", "ok\tO"]
    stats = write_conll([DOC, DOC], tmp_path / "out.conll")
    lines = (tmp_path / "out.conll").read_text(encoding="utf-8").split("\n")
    assert lines[:3] == ["-DOCSTART-\tO", "", "no\tB-Negation"]
    assert lines.count("-DOCSTART-\tO") == 2 and lines[-2:] == ["", ""]
    assert (stats.documents, stats.sentences, stats.mentions, stats.merged_mentions) == (2, 4, 6, 6)
    assert stats.dropped_relations == 2
    with pytest.raises(FormatError, match="nested: must be one of outermost, innermost, first"):
        write_conll([DOC], tmp_path / "x.conll", nested="longest")
