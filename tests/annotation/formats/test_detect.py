from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from annotation.formats import READERS, WRITERS, FormatError, detect_format, read_brat_files


def test_detect_by_names_and_content(brat_dir: Path, data_dir: Path, tmp_path: Path):
    assert detect_format(brat_dir) == "brat"
    assert detect_format(data_dir / "spert_sample.json") == "spert"
    assert detect_format(data_dir / "doccano.jsonl") == "jsonl"
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/NCT1_inc.txt", "Age")
        zf.writestr("x/NCT1_inc.ann", "")
    assert detect_format(archive) == "brat"
    assert detect_format({"upload.zip": archive.read_bytes()}) == "brat"
    assert detect_format({"criteria.txt": b"Age > 18"}) == "text"
    (tmp_path / "export.data").write_text('{"text": "a"}\n', encoding="utf-8")
    assert detect_format(tmp_path / "export.data") == "jsonl"
    assert detect_format({"blob": b"[]"}) == "spert"
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="cannot tell the format"):
        detect_format(tmp_path / "empty")


def test_registry(brat_dir: Path, tmp_path: Path):
    assert set(READERS) == {"brat", "spert", "jsonl", "text"}
    assert set(WRITERS) == {"brat", "spert", "jsonl", "conll"}
    docs = READERS["brat"](brat_dir)
    for name, writer in WRITERS.items():
        target = tmp_path / f"out.{name}" if name != "brat" else tmp_path / "brat"
        writer(docs, target)
        assert target.exists()


def test_pairs_form_of_the_in_memory_reader():
    docs = read_brat_files({"NCT1_inc": (b"Age 18\n", b"T1\tValue 4 6\t18\n"), "NCT1_exc": (b"NA\n", None)})
    assert [(d.external_id, len(d.mentions)) for d in docs] == [("NCT1_exc", 0), ("NCT1_inc", 1)]
