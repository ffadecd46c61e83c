from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from annotation.formats import (
    CDocument,
    CMention,
    CRelation,
    FormatError,
    Problem,
    brat_files,
    read_brat,
    read_brat_files,
    write_brat,
)

from .conftest import corpus

INC = "NCT00000001_inc"


def _by_id(docs: list[CDocument]) -> dict[str, CDocument]:
    return {doc.external_id: doc for doc in docs}


def _error(files: dict[str, bytes | str], **options) -> list[str]:
    encoded = {name: data.encode("utf-8") if isinstance(data, str) else data for name, data in files.items()}
    with pytest.raises(FormatError) as info:
        read_brat_files(encoded, **options)
    assert str(info.value).splitlines()[1:] == [str(p) for p in info.value.problems]
    return [str(p) for p in info.value.problems]


def test_reads_crlf_non_ascii_discontinuous_nested_duplicates_and_groups(brat_dir: Path):
    docs = _by_id(read_brat(brat_dir))
    assert list(docs) == ["NCT00000001_exc", INC, "NCT00000002_inc"]
    doc = docs[INC]
    assert (doc.group_key, doc.section, doc.newline) == ("NCT00000001", "inclusion", "\r\n")
    text_of = {m.id: doc.mention_text(m) for m in doc.mentions}
    # offsets count code points (é, ≥, µ, β, the emoji) and "\r\n" as two characters
    assert text_of["T1"] == "Hémoglobine"
    assert text_of["T4"] == "≥ 100 000/µL"
    assert text_of["T9"] == "daily"
    assert text_of["T10"] == "β blockers"
    assert doc.mentions[[m.id for m in doc.mentions].index("T10")].fragments == [(46, 47), (76, 84)]
    # duplicates stay distinct mentions
    assert [m.fragments for m in doc.mentions if m.id in ("T6", "T7")] == [[(60, 84)], [(60, 84)]]
    # out-of-order fragments are sorted; the text column is kept as written
    t13 = next(m for m in doc.mentions if m.id == "T13")
    assert (t13.fragments, t13.text) == ([(108, 110), (117, 122)], "years 18")
    assert [(r.id, r.head, r.tail) for r in doc.relations] == [
        ("R1", "T1", "T2"),
        ("R3", "T3", "T4"),
        ("R2", "T5", "T6"),
    ]
    assert [(g.id, g.type, g.members) for g in doc.groups] == [
        ("*", "OR", ["T5", "T6"]),
        ("*", "OR", ["T5", "T10", "T7"]),
    ]
    assert [(a.target, a.value) for a in doc.attributes] == [("T5", None), ("T3", "High")]
    assert doc.normalizations[0].ref == "UMLS:C0019046"
    assert doc.notes[0].text == "β…blockers, discontinuous"
    # one sentence per non-blank line, line terminators excluded
    assert [doc.sentence_text(s) for s in doc.sentences] == [
        "Hémoglobine ≥ 7 % and platelets ≥ 100 000/µL",
        "β-blockers or calcium channel blockers allowed 😀 daily",
        "Age 18 to 65 years",
    ]
    empty = docs["NCT00000001_exc"]
    assert (empty.mentions, [empty.sentence_text(s) for s in empty.sentences]) == ([], ["NA"])
    lone = docs["NCT00000002_inc"]  # a .txt without .ann, in a subfolder, LF newlines
    assert (lone.mentions, lone.newline, len(lone.sentences)) == ([], "\n", 2)


def test_round_trip_is_lossless_and_txt_byte_exact(brat_dir: Path, tmp_path: Path):
    docs = read_brat(brat_dir)
    written = write_brat(docs, tmp_path / "out")
    assert len(written) == 6
    assert (tmp_path / "out" / f"{INC}.txt").read_bytes() == (brat_dir / f"{INC}.txt").read_bytes()
    ann = (tmp_path / "out" / f"{INC}.ann").read_text(encoding="utf-8")
    assert "R1\tHas_value Arg1:T1 Arg2:T2\t\n" in ann
    assert "*\tOR T5 T10 T7\n" in ann
    assert "N1\tReference T1 UMLS:C0019046\tHemoglobin\n" in ann
    assert read_brat(tmp_path / "out") == docs


def test_zip_with_nested_folders_and_in_memory_upload(brat_dir: Path, tmp_path: Path):
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in brat_dir.rglob("*.*"):
            zf.write(path, "export/" + path.relative_to(brat_dir).as_posix())
        zf.writestr("__MACOSX/export/._NCT00000001_inc.ann", b"\x00\x05junk")
    from_folder = read_brat(brat_dir)
    assert read_brat(archive) == from_folder
    assert read_brat_files({"upload.zip": archive.read_bytes()}) == from_folder
    files = {p.name: p.read_bytes() for p in brat_dir.glob("*.*")}
    assert [d.external_id for d in read_brat_files(files)] == ["NCT00000001_exc", INC]


def test_write_to_zip_and_in_memory(brat_dir: Path, tmp_path: Path):
    docs = read_brat(brat_dir)
    write_brat(docs, tmp_path / "export.zip")
    assert read_brat(tmp_path / "export.zip") == docs
    assert read_brat_files(brat_files(docs)) == docs


def test_zip_slip_is_refused(tmp_path: Path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../evil.txt", "x")
        zf.writestr("ok.txt", "fine")
    messages = _error({"up.zip": buffer.getvalue()})
    assert messages == ["up.zip: unsafe path in archive: '../evil.txt'"]
    assert _error({"../a.txt": "x"}) == ["../a.txt: unsafe file name"]


def test_limits(brat_dir: Path):
    with pytest.raises(FormatError, match="too many files: more than the limit of 2"):
        read_brat(brat_dir, max_files=2)
    with pytest.raises(FormatError, match="too large: more than the limit of 100 bytes"):
        read_brat(brat_dir, max_bytes=100)


TEXT = "Age ≥ 18 years\r\nNo β-blockers\r\n"  # "No" starts at 16


@pytest.mark.parametrize(
    ("ann", "message"),
    [
        ("T1\tValue 4 99\t≥ 18", "d.ann:1: mention T1: offset 99 is past the end of the text (31 chars)"),
        ("T1\tValue 9 4\tx", "d.ann:1: mention T1: start 9 is after end 4"),
        ("T1\tValue 4 4\t", "d.ann:1: mention T1: start 4 equals end 4"),
        ("T1\tValue -1 4\tx", "d.ann:1: mention T1: negative offset -1"),
        ("T1\tValue 4 x8\tx", "d.ann:1: mention T1: offset 'x8' is not an integer"),
        ("T1\tValue 4 8 9\tx", "d.ann:1: mention T1: fragment '4 8 9' is not 'START END'"),
        ("T1\tValue\tx", "d.ann:1: mention T1: expected 'TYPE START END', found 'Value'"),
        ("T1\tValue 4 8", "d.ann:1: broken mention line: expected 3 tab-separated columns, found 2"),
        (
            "T1\tValue 0 3\tAge\nR1\tHas_value Arg1:T1 Arg2:T7\t",
            "d.ann:2: relation R1 refers to a missing id T7",
        ),
        (
            "T1\tValue 0 3\tAge\nR1\tHas_value Arg1:T1\t",
            "d.ann:2: relation R1: expected 'TYPE Arg1:ID Arg2:ID', found 'Has_value Arg1:T1'",
        ),
        (
            "T1\tValue 0 3\tAge\nR1\tAND Arg1:T1 Arg2:T1\textra\t",
            "d.ann:2: broken relation line: expected 2 tab-separated columns, found 4",
        ),
        ("T1\tValue 0 3\tAge\n*\tOR T1 T3", "d.ann:2: group OR refers to a missing id T3"),
        ("T1\tValue 0 3\tAge\nT1\tValue 0 3\tAge", "d.ann:2: duplicate id T1 (first on line 1)"),
        ("T1\tValue 0 3\tAge\nX1\tfoo T1", "d.ann:2: unknown annotation line kind 'X'"),
        ("E1\tTreatment:T1", "d.ann:1: event annotations (E lines) are not supported"),
        ("T1\tValue 0 3\tAge\nA1\tNegated T9", "d.ann:2: attribute A1 refers to a missing id T9"),
        (
            "T1\tValue 0 3\tAge\nR1\tAND Arg1:T1 Arg2:T1\t\nR2\tAND Arg1:T1 Arg2:R1\t",
            "d.ann:3: relation R2 refers to R1, which is not a mention",
        ),
        (
            "T1\tDrug 19 29\tβ-blocker",
            "d.ann:1: mention T1: text 'β-blocker' does not match the document text 'β-blockers'",
        ),
    ],
)
def test_malformed_ann_is_reported_with_file_line_and_reason(ann: str, message: str):
    assert _error({"d.txt": TEXT, "d.ann": ann}) == [message]


def test_text_column_tolerances():
    ann = (
        "T1\tValue 4 16\t≥ 18 years\n"  # swallows the "\r\n"
        "T2\tCondition 9 29\tyears\n"  # crosses a line: the column stops at the line break
        "T3\tDrug 19 29;16 18\tβ-blockers No\n"  # fragments out of order, column in that order
    )
    doc = read_brat_files({"d.txt": TEXT.encode(), "d.ann": ann.encode()})[0]
    assert [m.fragments for m in doc.mentions] == [[(4, 16)], [(9, 29)], [(16, 18), (19, 29)]]
    assert _error({"d.txt": TEXT, "d.ann": "T1\tValue 0 3\tAgo"}, strict_text=True)
    assert read_brat_files({"d.txt": TEXT.encode(), "d.ann": b"T1\tValue 0 3\tAgo"}, strict_text=False)


def test_every_problem_in_every_file_is_collected():
    messages = _error(
        {
            "a.txt": TEXT,
            "a.ann": "T1\tValue 0 99\tx\nR1\tAND Arg1:T1 Arg2:T2\t\nQ",
            "b.ann": "T1\tValue 0 3\tAge",
            "c.txt": b"ok\n\xff\xfe",
            "d.txt": TEXT,
            "d.ann": "T1\tValue 0 3\tAge\tmore\nT2",
        }
    )
    assert messages == [
        "a.ann:1: mention T1: offset 99 is past the end of the text (31 chars)",
        "a.ann:2: relation R1 refers to a missing id T2",
        "a.ann:3: unknown annotation line kind 'Q'",
        "b.ann: no matching .txt file",
        "c.txt:2: not valid UTF-8 (byte 0xff at byte offset 3)",
        "d.ann:1: mention T1: text 'Age\\tmore' does not match the document text 'Age'",
        "d.ann:2: broken mention line: expected 3 tab-separated columns, found 1",
    ]


def test_utf8_bom_is_not_counted_and_comes_back(tmp_path: Path):
    docs = read_brat_files(
        {"d.txt": b"\xef\xbb\xbf" + TEXT.encode(), "d.ann": "\ufeffT1\tValue 0 3\tAge".encode()}
    )
    assert docs[0].text == TEXT and docs[0].metadata == {"bom": True}
    assert brat_files(docs)["d.txt"].startswith(b"\xef\xbb\xbf")


def test_relation_roles_and_foreign_ids_survive_writing():
    doc = read_brat_files(
        {
            "d.txt": TEXT.encode(),
            "d.ann": b"T1\tValue 0 3\tAge\nT2\tValue 4 8\t\xe2\x89\xa5 18\nR1\tHas From:T1 To:T2",
        }
    )[0]
    assert read_brat_files(brat_files([doc])) == [doc]
    foreign = CDocument(
        "../weird id",
        "abc def\n",
        mentions=[CMention("7", "A type", [(0, 3)]), CMention("x", "B", [(4, 7)])],
        relations=[CRelation("1", "rel", "7", "x")],
    )
    files = brat_files([foreign, foreign])
    assert list(files) == ["_weird_id.txt", "_weird_id.ann", "_weird_id__2.txt", "_weird_id__2.ann"]
    assert (
        files["_weird_id.ann"].decode() == "T1\tA_type 0 3\tabc\nT2\tB 4 7\tdef\nR1\trel Arg1:T1 Arg2:T2\t\n"
    )


def test_problem_without_line():
    assert str(Problem("f.txt", None, "boom")) == "f.txt: boom"
    assert str(Problem("f.ann", 3, "boom")) == "f.ann:3: boom"


def _essentials(doc: CDocument):
    return (
        [(m.type, m.fragments) for m in doc.mentions],
        [(r.type, r.head, r.tail) for r in doc.relations],
        [(g.type, g.members) for g in doc.groups],
    )


@pytest.mark.corpus
def test_chia_round_trip(tmp_path: Path):
    chia = corpus("chia")
    started = time.perf_counter()
    docs = read_brat(chia)
    read_seconds = time.perf_counter() - started
    assert len(docs) == 1622
    assert sum(len(d.mentions) for d in docs) == 36835
    assert sum(len(d.relations) for d in docs) == 16677
    assert sum(len(d.groups) for d in docs) == 4137
    write_brat(docs, tmp_path)
    again = read_brat(tmp_path)
    assert [d.external_id for d in again] == [d.external_id for d in docs]
    for before, after in zip(docs, again, strict=True):
        assert _essentials(after) == _essentials(before), before.external_id
        assert after == before
    for txt in chia.glob("*.txt"):
        assert (tmp_path / txt.name).read_bytes() == txt.read_bytes()
    print(f"read 1,622 Chia files in {read_seconds:.2f} s")
