from __future__ import annotations

from pathlib import Path

import pytest

from annotation.formats import CDocument, FormatError, read_text

CTGOV = """Eligibility Criteria

Inclusion Criteria:

  * Age ≥ 18 years
  * Hémoglobine ≥ 7 % at screening, measured within
    14 days before randomisation
  * Patients must have:
      1. histologically confirmed cancer
      2) measurable disease

         according to RECIST 1.1
      (iii) no β-blockers 😀
  * ECOG 0-1

Key Exclusion Criteria:

  - Pregnancy
  - Any of
    the following
DISEASE CHARACTERISTICS:
a. prior chemotherapy allowed
Exclusion criteria for cohort B: known HIV infection
"""


def _criteria(doc: CDocument) -> list[str]:
    return [doc.sentence_text(s) for s in doc.sentences]


def test_lines_mode_one_criterion_per_non_blank_line(tmp_path: Path):
    path = tmp_path / "NCT00000003_exc.txt"
    path.write_bytes("No β-blockers\r\n\r\n  \r\nHémoglobine < 7 %\r\n".encode())
    [doc] = read_text(path)
    assert (doc.external_id, doc.group_key, doc.section, doc.newline) == (
        "NCT00000003_exc",
        "NCT00000003",
        "exclusion",
        "\r\n",
    )
    assert doc.text == path.read_bytes().decode()
    assert _criteria(doc) == ["No β-blockers", "  ", "Hémoglobine < 7 %"][::2]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_sections_split_into_criteria_with_offsets_into_the_original(newline: str):
    text = CTGOV.replace("\n", newline)
    docs = read_text(text, mode="sections", name="NCT00000004")
    assert [(d.external_id, d.section, d.group_key) for d in docs] == [
        ("NCT00000004_inc", "inclusion", "NCT00000004"),
        ("NCT00000004_exc", "exclusion", "NCT00000004"),
        ("NCT00000004_exc_2", "exclusion", "NCT00000004"),
    ]
    inc, exc, exc2 = docs
    wrap = newline + "    "
    assert _criteria(inc) == [
        "Age ≥ 18 years",
        f"Hémoglobine ≥ 7 % at screening, measured within{wrap}14 days before randomisation",
        "Patients must have:",
        "histologically confirmed cancer",
        f"measurable disease{newline}{newline}         according to RECIST 1.1",
        "no β-blockers 😀",
        "ECOG 0-1",
    ]
    assert _criteria(exc) == ["Pregnancy", f"Any of{wrap}the following", "prior chemotherapy allowed"]
    assert _criteria(exc2) == ["known HIV infection"]
    for doc in docs:  # the text is the section's slice of the input, unchanged
        offset = doc.metadata["source_offset"]
        assert text[offset : offset + len(doc.text)] == doc.text
        assert doc.newline == newline or doc is exc2
    assert inc.text.startswith("  * Age")


def test_sections_without_bullets_and_without_headers():
    text = "Inclusion criteria\nAdults aged 18 or older\nwith type 2 diabetes\nHbA1c 7-10 %\n\nExclusion criteria -\nPregnancy\n"
    inc, exc = read_text(text, mode="sections", name="t")
    assert _criteria(inc) == ["Adults aged 18 or older\nwith type 2 diabetes", "HbA1c 7-10 %"]
    assert _criteria(exc) == ["Pregnancy"]
    [plain] = read_text("1. Age > 18\n2. Consent\n", mode="sections", name="plain")
    assert (plain.external_id, plain.section, _criteria(plain)) == ("plain", "", ["Age > 18", "Consent"])
    # lines that merely mention the criteria are criteria, not headers
    [doc] = read_text("Inclusion Criteria:\n- Meets all inclusion criteria\n", mode="sections")
    assert _criteria(doc) == ["Meets all inclusion criteria"]
    docs = read_text(
        "INCLUSION:\nAge > 18\nExclusion\nInclusion criteria of study X apply\n", mode="sections"
    )
    assert [(d.section, _criteria(d)) for d in docs] == [
        ("inclusion", ["Age > 18"]),
        ("exclusion", ["Inclusion criteria of study X apply"]),
    ]


def test_a_string_is_text_never_a_path(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read", encoding="utf-8")
    [doc] = read_text(str(secret))
    assert doc.text == str(secret)
    [doc] = read_text(b"bytes\n", name="b")
    assert doc.text == "bytes\n"


def test_problems():
    with pytest.raises(FormatError, match="mode must be 'lines' or 'sections'"):
        read_text("x", mode="paragraphs")
    with pytest.raises(FormatError) as info:
        read_text({"a.txt": b"ok\n", "b.txt": b"caf\xe9\n"})
    assert [str(p) for p in info.value.problems] == ["b.txt:1: not valid UTF-8 (byte 0xe9 at byte offset 3)"]
    [doc] = read_text({"bom.txt": b"\xef\xbb\xbfAge\n"})
    assert doc.text == "Age\n"
