"""BRAT standoff: ``<name>.txt`` (the document) + ``<name>.ann`` (the annotations) pairs.

Read from a folder, a zip archive (nested folders allowed) or in-memory files; written to a folder, a zip
archive or in-memory files. What is kept, so that writing what was read loses nothing:

- ``T`` text-bound mentions, discontinuous ones as several fragments, with their text column as written;
- ``R`` relations (the argument role names too, when they are not ``Arg1``/``Arg2``);
- ``*`` groups (``*<TAB>OR T1 T2``), in file order;
- ``A``/``M`` attributes, ``N`` normalizations and ``#`` notes;
- the ``.txt`` bytes exactly (no newline translation, so CRLF offsets count ``\\r\\n`` as two characters).

``E`` (event) lines are refused as unsupported.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from .corpus import (
    CAttribute,
    CDocument,
    CGroup,
    CMention,
    CNormalization,
    CNote,
    CRelation,
    CSentence,
    Problems,
    dominant_newline,
    line_spans,
    split_external_id,
)
from .sources import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, Source, collect_files, decode_text

__all__ = ["brat_files", "brat_zip_bytes", "read_brat", "read_brat_files", "write_brat"]

_INT = re.compile(r"-?[0-9]+")
_ID = re.compile(r"[A-Za-z#][^\s]*")
_WHITESPACE = re.compile(r"\s+")
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_ROLES_KEY = "brat_relation_roles"  # metadata: {relation id: [head role, tail role]} when not Arg1/Arg2


def read_brat(
    source: Source,
    *,
    strict_text: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> list[CDocument]:
    """Read every ``.txt``/``.ann`` pair in ``source`` (folder, ``.zip``, single file or ``{name: bytes}``).

    A ``.txt`` without ``.ann`` is a document without annotations; an ``.ann`` without ``.txt`` is a problem.
    ``strict_text``: a mention whose text column differs from the document text at its offsets is a problem,
    unless the difference is only whitespace, the order of discontinuous fragments, or the column stopping
    at a line break the span crosses (all found in Chia). With ``strict_text=False`` the column is not checked.
    Documents come sorted by file name. Raises FormatError listing every problem in every file.
    """
    problems = Problems()
    files = collect_files(
        source, suffixes=(".txt", ".ann"), problems=problems, max_bytes=max_bytes, max_files=max_files
    )
    pairs: dict[str, dict[str, tuple[str, bytes]]] = {}
    for name, data in files:
        key, suffix = name[:-4], name[-4:].lower()
        pairs.setdefault(key, {})[suffix] = (name, data)

    documents = []
    seen_ids: dict[str, str] = {}
    for key in sorted(pairs):
        pair = pairs[key]
        if ".txt" not in pair:
            problems.add(pair[".ann"][0], None, "no matching .txt file")
            continue
        txt_name, txt_bytes = pair[".txt"]
        stem = key.rpartition("/")[2]
        if stem in seen_ids:
            problems.add(txt_name, None, f"document id {stem!r} is used twice (also {seen_ids[stem]})")
            continue
        seen_ids[stem] = txt_name
        ann = pair.get(".ann")
        document = _read_document(stem, txt_name, txt_bytes, ann, problems, strict_text)
        if document is not None:
            documents.append(document)
    problems.raise_if_any()
    return documents


def read_brat_files(
    files: Mapping[str, bytes] | Mapping[str, tuple[bytes, bytes | None]], **options
) -> list[CDocument]:
    """In-memory entry point for an upload, either the uploaded files ``{"NCT1_inc.txt": b"...",
    "NCT1_inc.ann": b"...", "more.zip": b"..."}`` (a ``.zip`` is opened) or pairs ``{"NCT1_inc": (txt_bytes,
    ann_bytes or None)}``. Same options and errors as :func:`read_brat`."""
    named: dict[str, bytes] = {}
    for name, value in files.items():
        if isinstance(value, tuple):
            txt, ann = value
            named[f"{name}.txt"] = txt
            if ann is not None:
                named[f"{name}.ann"] = ann
        else:
            named[name] = value
    return read_brat(named, **options)


def _read_document(
    stem: str,
    txt_name: str,
    txt_bytes: bytes,
    ann: tuple[str, bytes] | None,
    problems: Problems,
    strict_text: bool,
) -> CDocument | None:
    decoded = decode_text(txt_name, txt_bytes, problems)
    ann_text = ""
    ann_name = ann[0] if ann else ""
    if ann is not None:
        ann_decoded = decode_text(ann_name, ann[1], problems)
        if ann_decoded is None:
            return None
        ann_text = ann_decoded[0]
    if decoded is None:
        return None
    text, bom = decoded
    group_key, section = split_external_id(stem)
    document = CDocument(
        external_id=stem,
        text=text,
        sentences=[CSentence(s, e) for s, e in line_spans(text) if text[s:e].strip()],
        group_key=group_key,
        section=section,
        newline=dominant_newline(text),
    )
    if bom:
        document.metadata["bom"] = True
    if ann_text:
        _AnnParser(document, ann_name, problems, strict_text).parse(ann_text)
    return document


class _AnnParser:
    def __init__(self, document: CDocument, name: str, problems: Problems, strict_text: bool):
        self.doc = document
        self.name = name
        self.problems = problems
        self.found: list[tuple[int, str]] = []  # (line, reason), reported in line order by parse()
        self.strict_text = strict_text
        self.ids: dict[str, int] = {}  # id -> line
        self.references: list[tuple[int, str, str, bool]] = []  # line, what, id, must be a mention
        self.broken: set[str] = set()  # ids of lines already reported: no second problem for references

    def problem(self, line: int, reason: str) -> None:
        self.found.append((line, reason))

    def parse(self, ann_text: str) -> None:
        handlers = {
            "T": self.mention,
            "R": self.relation,
            "*": self.group,
            "A": self.attribute,
            "M": self.attribute,
            "N": self.normalization,
            "#": self.note,
        }
        for line_no, line in enumerate(ann_text.split("\n"), 1):
            if line.endswith("\r"):
                line = line[:-1]
            if not line.strip():
                continue
            handler = handlers.get(line[0])
            if handler is None:
                if line[0] == "E":
                    self.problem(line_no, "event annotations (E lines) are not supported")
                else:
                    self.problem(line_no, f"unknown annotation line kind {line[0]!r}")
                continue
            handler(line_no, line)
        self.check_references()
        for line_no, reason in sorted(self.found, key=lambda found: found[0]):
            self.problems.add(self.name, line_no, reason)

    def new_id(self, line_no: int, ann_id: str) -> bool:
        if not _ID.fullmatch(ann_id):
            self.problem(line_no, f"malformed id {ann_id!r}")
            return False
        if ann_id in self.ids:
            self.problem(line_no, f"duplicate id {ann_id} (first on line {self.ids[ann_id]})")
            return False
        self.ids[ann_id] = line_no
        return True

    def columns(self, line_no: int, line: str, allowed: tuple[int, ...], kind: str) -> list[str] | None:
        cols = line.split("\t")
        # a trailing TAB (Chia writes one after every relation) is an empty last column, not a column
        if len(cols) > 1 and cols[-1] == "" and len(cols) - 1 in allowed and len(cols) not in allowed:
            cols.pop()
        if len(cols) not in allowed:
            expected = " or ".join(str(n) for n in allowed)
            self.problem(
                line_no, f"broken {kind} line: expected {expected} tab-separated columns, found {len(cols)}"
            )
            return None
        return cols

    def mention(self, line_no: int, line: str) -> None:
        cols = line.split("\t", 2)
        if len(cols) != 3:
            self.problem(line_no, f"broken mention line: expected 3 tab-separated columns, found {len(cols)}")
            return
        ann_id, middle, column = cols
        mention_type, _, offsets = middle.partition(" ")
        if not mention_type or not offsets.strip():
            self.problem(line_no, f"mention {ann_id}: expected 'TYPE START END', found {middle!r}")
            self.broken.add(ann_id)
            return
        fragments = self.fragments(line_no, ann_id, offsets)
        if not self.new_id(line_no, ann_id):
            return
        if fragments is None:
            self.broken.add(ann_id)
            return
        if self.strict_text and not _text_matches(column, self.doc.text, fragments):
            expected = " ".join(self.doc.text[s:e] for s, e in fragments)
            self.problem(
                line_no, f"mention {ann_id}: text {column!r} does not match the document text {expected!r}"
            )
            self.broken.add(ann_id)
            return
        self.doc.mentions.append(CMention(ann_id, mention_type, sorted(fragments), column))

    def fragments(self, line_no: int, ann_id: str, offsets: str) -> list[tuple[int, int]] | None:
        size = len(self.doc.text)
        fragments = []
        ok = True
        for piece in offsets.split(";"):
            parts = piece.split()
            if len(parts) != 2:
                self.problem(line_no, f"mention {ann_id}: fragment {piece!r} is not 'START END'")
                ok = False
                continue
            values = []
            for part in parts:
                if not _INT.fullmatch(part):
                    self.problem(line_no, f"mention {ann_id}: offset {part!r} is not an integer")
                elif part.startswith("-"):
                    self.problem(line_no, f"mention {ann_id}: negative offset {part}")
                elif int(part) > size:
                    self.problem(
                        line_no, f"mention {ann_id}: offset {part} is past the end of the text ({size} chars)"
                    )
                else:
                    values.append(int(part))
            if len(values) != 2:
                ok = False
                continue
            start, end = values
            if start >= end:
                what = "is after" if start > end else "equals"
                self.problem(line_no, f"mention {ann_id}: start {start} {what} end {end}")
                ok = False
                continue
            fragments.append((start, end))
        return fragments if ok else None

    def relation(self, line_no: int, line: str) -> None:
        cols = self.columns(line_no, line, (2,), "relation")
        if cols is None:
            return
        parts = cols[1].split()
        args = [part.partition(":") for part in parts[1:]]
        if len(parts) != 3 or any(not role or not sep or not target for role, sep, target in args):
            self.problem(line_no, f"relation {cols[0]}: expected 'TYPE Arg1:ID Arg2:ID', found {cols[1]!r}")
            self.broken.add(cols[0])
            return
        if not self.new_id(line_no, cols[0]):
            return
        (role1, _, head), (role2, _, tail) = args
        what = f"relation {cols[0]}"
        self.references += [(line_no, what, head, True), (line_no, what, tail, True)]
        self.doc.relations.append(CRelation(cols[0], parts[0], head, tail))
        if (role1, role2) != ("Arg1", "Arg2"):
            self.doc.metadata.setdefault(_ROLES_KEY, {})[cols[0]] = [role1, role2]

    def group(self, line_no: int, line: str) -> None:
        cols = self.columns(line_no, line, (2,), "group")
        if cols is None:
            return
        parts = cols[1].split()
        if len(parts) < 2:
            self.problem(line_no, f"group: expected 'TYPE ID ID ...', found {cols[1]!r}")
            return
        self.references += [(line_no, f"group {parts[0]}", member, True) for member in parts[1:]]
        self.doc.groups.append(CGroup(cols[0], parts[0], parts[1:]))

    def attribute(self, line_no: int, line: str) -> None:
        cols = self.columns(line_no, line, (2,), "attribute")
        if cols is None:
            return
        parts = cols[1].split()
        if len(parts) not in (2, 3):
            self.problem(line_no, f"attribute {cols[0]}: expected 'TYPE ID [VALUE]', found {cols[1]!r}")
            return
        if self.new_id(line_no, cols[0]):
            self.references.append((line_no, f"attribute {cols[0]}", parts[1], False))
            value = parts[2] if len(parts) == 3 else None
            self.doc.attributes.append(CAttribute(cols[0], parts[0], parts[1], value))

    def normalization(self, line_no: int, line: str) -> None:
        cols = line.split("\t", 2)
        parts = cols[1].split() if len(cols) > 1 else []
        if len(cols) < 2 or len(parts) != 3:
            self.problem(
                line_no, f"broken normalization line: expected 'ID<TAB>TYPE ID REF<TAB>TEXT', found {line!r}"
            )
            return
        if self.new_id(line_no, cols[0]):
            self.references.append((line_no, f"normalization {cols[0]}", parts[1], False))
            text = cols[2] if len(cols) == 3 else ""
            self.doc.normalizations.append(CNormalization(cols[0], parts[0], parts[1], parts[2], text))

    def note(self, line_no: int, line: str) -> None:
        cols = line.split("\t", 2)
        parts = cols[1].split() if len(cols) > 1 else []
        if len(cols) < 2 or len(parts) != 2:
            self.problem(line_no, f"broken note line: expected 'ID<TAB>TYPE ID<TAB>TEXT', found {line!r}")
            return
        if self.new_id(line_no, cols[0]):
            self.references.append((line_no, f"note {cols[0]}", parts[1], False))
            text = cols[2] if len(cols) == 3 else ""
            self.doc.notes.append(CNote(cols[0], parts[0], parts[1], text))

    def check_references(self) -> None:
        mention_ids = {mention.id for mention in self.doc.mentions}
        for line_no, what, target, must_be_mention in self.references:
            if target in mention_ids or target in self.broken or (not must_be_mention and target in self.ids):
                continue
            if target in self.ids:
                self.problem(line_no, f"{what} refers to {target}, which is not a mention")
            else:
                self.problem(line_no, f"{what} refers to a missing id {target}")


def _words(text: str) -> list[str]:
    return sorted(_WHITESPACE.split(text.strip())) if text.strip() else []


def _text_matches(column: str, text: str, fragments: list[tuple[int, int]]) -> bool:
    """Does the text column say what the offsets point at? Tolerated: whitespace (a swallowed ``\\r``),
    fragment order (Chia writes some discontinuous fragments out of order, text column in that order), and
    a column that stops where a span crosses a line break (BRAT text columns cannot hold one)."""
    pieces = [text[start:end] for start, end in fragments]
    joined = " ".join(pieces)
    if column == joined:
        return True
    column_words = _words(column)
    if column_words == _words(joined):
        return True
    if _LINE_BREAK.search(joined.strip()):
        return column_words == _words(_LINE_BREAK.split(joined.strip(), maxsplit=1)[0])
    return False


# --------------------------------------------------------------------------------------------- writing


def _column(value: str) -> str:
    # a .ann column cannot hold a line break or a TAB
    return _LINE_BREAK.sub(" ", value).replace("\t", " ")


def _token(value: str) -> str:
    return _WHITESPACE.sub("_", value.strip()) or "_"


def _brat_ids(ids: list[str], pattern: str, prefix: str) -> list[str]:
    """Keep ids BRAT accepts for their kind and that are unique; renumber the others (ids from a JSONL
    import, say) with ``prefix`` and the first free number."""
    counts = Counter(ids)
    good = [re.fullmatch(pattern, i) is not None and counts[i] == 1 for i in ids]
    taken = {i for i, ok in zip(ids, good, strict=True) if ok}
    out, number = [], 1
    for i, ok in zip(ids, good, strict=True):
        if not ok:
            while f"{prefix}{number}" in taken:
                number += 1
            i = f"{prefix}{number}"
            taken.add(i)
        out.append(i)
    return out


def _ann_text(doc: CDocument) -> str:
    mention_ids = _brat_ids([m.id for m in doc.mentions], r"T\S*", "T")
    relation_ids = _brat_ids([r.id for r in doc.relations], r"R\S*", "R")
    attribute_ids = _brat_ids([a.id for a in doc.attributes], r"[AM]\S*", "A")
    norm_ids = _brat_ids([n.id for n in doc.normalizations], r"N\S*", "N")
    note_ids = _brat_ids([n.id for n in doc.notes], r"#\S*", "#")
    new_ids: dict[str, str] = {}
    for old_ids, ids in (
        ([m.id for m in doc.mentions], mention_ids),
        ([r.id for r in doc.relations], relation_ids),
        ([a.id for a in doc.attributes], attribute_ids),
        ([n.id for n in doc.normalizations], norm_ids),
    ):
        for old_id, new_id in zip(old_ids, ids, strict=True):
            new_ids.setdefault(old_id, new_id)
    roles = doc.metadata.get(_ROLES_KEY, {})

    lines = []
    for mention, new_id in zip(doc.mentions, mention_ids, strict=True):
        offsets = ";".join(f"{start} {end}" for start, end in mention.fragments)
        column = mention.text or doc.mention_text(mention)
        lines.append(f"{new_id}\t{_token(mention.type)} {offsets}\t{_column(column)}")
    for relation, new_id in zip(doc.relations, relation_ids, strict=True):
        role1, role2 = roles.get(relation.id, ("Arg1", "Arg2"))
        head, tail = new_ids.get(relation.head, relation.head), new_ids.get(relation.tail, relation.tail)
        lines.append(f"{new_id}\t{_token(relation.type)} {role1}:{head} {role2}:{tail}\t")
    for group in doc.groups:
        members = " ".join(new_ids.get(member, member) for member in group.members)
        lines.append(f"*\t{_token(group.type)} {members}")
    for attribute, new_id in zip(doc.attributes, attribute_ids, strict=True):
        value = "" if attribute.value is None else f" {_token(attribute.value)}"
        target = new_ids.get(attribute.target, attribute.target)
        lines.append(f"{new_id}\t{_token(attribute.type)} {target}{value}")
    for norm, new_id in zip(doc.normalizations, norm_ids, strict=True):
        target = new_ids.get(norm.target, norm.target)
        lines.append(f"{new_id}\t{_token(norm.type)} {target} {_token(norm.ref)}\t{_column(norm.text)}")
    for note, new_id in zip(doc.notes, note_ids, strict=True):
        target = new_ids.get(note.target, note.target)
        lines.append(f"{new_id}\t{_token(note.type)} {target}\t{_column(note.text)}")
    return "".join(line + "\n" for line in lines)


_SAFE_STEM = re.compile(r"[^\w.\-]+")


def _file_stems(docs: list[CDocument]) -> list[str]:
    """File names from external ids, made safe (no separators, no leading dot) and unique."""
    stems: list[str] = []
    used: set[str] = set()
    for doc in docs:
        stem = _SAFE_STEM.sub("_", doc.external_id).lstrip(".") or "document"
        candidate, number = stem, 2
        while candidate.lower() in used:
            candidate, number = f"{stem}__{number}", number + 1
        used.add(candidate.lower())
        stems.append(candidate)
    return stems


def brat_files(docs: Iterable[CDocument]) -> dict[str, bytes]:
    """``{"<external_id>.txt": bytes, "<external_id>.ann": bytes, ...}`` in document order.

    The ``.txt`` is the document text byte for byte (UTF-8, a byte order mark again if the source had one).
    External ids that are not safe file names have their unsafe characters replaced by ``_``; a repeated
    name gets ``__2``, ``__3``. Ids BRAT would not accept (a mention id not starting with ``T``, ...) are
    renumbered. Sentences, group key, section and metadata other than the above are not part of BRAT.
    """
    docs = list(docs)
    files: dict[str, bytes] = {}
    for doc, stem in zip(docs, _file_stems(docs), strict=True):
        prefix = "\ufeff" if doc.metadata.get("bom") else ""
        files[f"{stem}.txt"] = (prefix + doc.text).encode("utf-8")
        files[f"{stem}.ann"] = _ann_text(doc).encode("utf-8")
    return files


def write_brat(docs: Iterable[CDocument], out: str | Path) -> list[Path]:
    """Write ``.txt``/``.ann`` pairs into the folder ``out`` (created if missing), or into a zip archive when
    ``out`` ends with ``.zip``. Returns the paths written. See :func:`brat_files` for what is written."""
    out = Path(out)
    files = brat_files(docs)
    if out.suffix.lower() == ".zip":
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        path = out / name
        with open(path, "wb") as handle:
            handle.write(data)
        written.append(path)
    return written


def brat_zip_bytes(docs: Iterable[CDocument]) -> bytes:
    """The pairs of :func:`brat_files` as the bytes of a zip archive (for a download response)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in brat_files(docs).items():
            archive.writestr(name, data)
    return buffer.getvalue()
