"""Import/export formats for annotated criteria: BRAT standoff, SpERT JSON, JSONL (doccano), plain text,
CoNLL/BIO (export only). Pure Python, no Django: readers return :class:`CDocument` objects (character
offsets into the document text) and raise one :class:`FormatError` listing every problem; writers take
them back. ``READERS``/``WRITERS`` map a format name to its function; :func:`detect_format` guesses the name.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from .brat import brat_files, brat_zip_bytes, read_brat, read_brat_files, write_brat
from .conll import conll_lines, write_conll
from .corpus import (
    CAttribute,
    CDocument,
    CGroup,
    CMention,
    CNormalization,
    CNote,
    CRelation,
    CSentence,
    FormatError,
    Problem,
)
from .jsonl import jsonl_lines, read_jsonl, write_jsonl
from .sources import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, Source
from .spert import read_spert, spert_sentences, spert_types, write_spert
from .text import read_text
from .tokens import ExportStats

__all__ = [
    "CAttribute",
    "CDocument",
    "CGroup",
    "CMention",
    "CNormalization",
    "CNote",
    "CRelation",
    "CSentence",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_FILES",
    "ExportStats",
    "FormatError",
    "Problem",
    "READERS",
    "WRITERS",
    "brat_files",
    "brat_zip_bytes",
    "conll_lines",
    "detect_format",
    "jsonl_lines",
    "read_brat",
    "read_brat_files",
    "read_jsonl",
    "read_spert",
    "read_text",
    "spert_sentences",
    "spert_types",
    "write_brat",
    "write_conll",
    "write_jsonl",
    "write_spert",
]

# read_spert returns (documents, types); the others return documents.
READERS: dict[str, Callable[..., list[CDocument] | tuple[list[CDocument], dict | None]]] = {
    "brat": read_brat, "spert": read_spert, "jsonl": read_jsonl, "text": read_text
}
WRITERS: dict[str, Callable[..., object]] = {
    "brat": write_brat, "spert": write_spert, "jsonl": write_jsonl, "conll": write_conll
}


def _from_names(names: list[str]) -> str | None:
    suffixes = {name.lower().rpartition(".")[2] for name in names if "." in name.rpartition("/")[2]}
    if "ann" in suffixes:
        return "brat"
    if suffixes & {"jsonl", "ndjson"}:
        return "jsonl"
    if "json" in suffixes:
        return "spert"
    if "txt" in suffixes:
        return "text"
    return None


def _sniff(head: bytes) -> str:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "spert"
    if stripped.startswith(b"{"):
        return "jsonl"
    return "text"


def detect_format(source: Source) -> str:
    """``"brat"``, ``"spert"``, ``"jsonl"`` or ``"text"`` for a path (file, folder, ``.zip``) or an upload's
    ``{name: bytes}``, judged by file names, then by the first bytes. A folder or archive of ``.txt``
    files without any ``.ann`` is "text". Raises FormatError when there is nothing to go by."""
    if isinstance(source, Mapping):
        names = []
        for name, data in source.items():
            if name.lower().endswith(".zip"):
                try:
                    with zipfile.ZipFile(io.BytesIO(data)) as archive:
                        names += archive.namelist()
                except zipfile.BadZipFile:
                    pass
            else:
                names.append(name)
        found = _from_names(names)
        if found is None and len(source) == 1:
            found = _sniff(next(iter(source.values()))[:64])
    else:
        path = Path(source)
        if path.is_dir():
            found = _from_names([p.name for p in path.rglob("*") if p.is_file()])
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                found = _from_names(archive.namelist())
        elif path.is_file():
            found = _from_names([path.name])
            if found in (None, "spert"):
                with open(path, "rb") as handle:
                    found = _sniff(handle.read(64))
        else:
            found = None
    if found is None:
        label = "upload" if isinstance(source, Mapping) else str(source)
        reason = "cannot tell the format: no .ann, .json, .jsonl or .txt file"
        raise FormatError([Problem(label, None, reason)])
    return found
