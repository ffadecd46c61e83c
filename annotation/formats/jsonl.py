"""JSONL in doccano's sequence-labeling shape, one document per line::

    {"text": "...", "entities": [{"id": 1, "label": "Drug", "start_offset": 0, "end_offset": 5}],
     "relations": [{"id": 1, "from_id": 1, "to_id": 2, "type": "Has_value"}]}

(or doccano's older ``"label": [[start, end, "Drug"], ...]``). TrialMark's own files extend the shape so
that reading them back loses nothing: a document may carry ``external_id``, ``group_key``, ``section``,
``meta`` and ``sentences`` (``[[start, end], ...]``, written only when they are not simply the non-blank
lines); an entity may carry ``fragments`` (``[[start, end], ...]``, discontinuous mentions) and ``text``
(a BRAT text column); ``groups``, ``attributes``, ``normalizations`` and ``notes`` are lists of objects
with the fields of the dataclasses of the same names. Other top-level keys (doccano's ``Comments``, custom
columns) are kept in ``metadata["jsonl_extra"]`` and written back as they were.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeGuard

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
)
from .sources import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, Source, collect_files, decode_text

__all__ = ["jsonl_lines", "read_jsonl", "write_jsonl"]

_EXTRA_KEY = "jsonl_extra"
_KNOWN_KEYS = {
    "id",
    "external_id",
    "text",
    "entities",
    "label",
    "relations",
    "groups",
    "attributes",
    "normalizations",
    "notes",
    "sentences",
    "meta",
    "group_key",
    "section",
}


def read_jsonl(
    source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, max_files: int = DEFAULT_MAX_FILES
) -> list[CDocument]:
    """Read JSONL (a file, a folder or zip of ``.jsonl``/``.ndjson`` files, or ``{name: bytes}``).

    A document's external id is its ``external_id``, else its ``id``, else ``<file stem>:<line>``.
    Without ``sentences``, each non-blank line of the text is a sentence. Raises FormatError listing every
    problem as ``file:line: reason``.
    """
    problems = Problems()
    files = collect_files(
        source, suffixes=(".jsonl", ".ndjson"), problems=problems, max_bytes=max_bytes, max_files=max_files
    )
    documents: list[CDocument] = []
    seen: dict[str, str] = {}
    for name, data in files:
        decoded = decode_text(name, data, problems)
        if decoded is None:
            continue
        stem = name.rpartition("/")[2].rpartition(".")[0] or name
        for line_no, line in enumerate(decoded[0].split("\n"), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.add(name, line_no, f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            doc = _LineReader(name, line_no, problems).document(obj, f"{stem}:{line_no}")
            if doc is None:
                continue
            if doc.external_id in seen:
                problems.add(
                    name, line_no, f"document id {doc.external_id!r} is used twice ({seen[doc.external_id]})"
                )
                continue
            seen[doc.external_id] = f"{name}:{line_no}"
            documents.append(doc)
    problems.raise_if_any()
    return documents


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _key(value: Any) -> str | None:
    """Ids may be numbers (doccano) or strings (TrialMark): both become strings."""
    if isinstance(value, str) or _is_int(value):
        return str(value)
    return None


class _LineReader:
    def __init__(self, name: str, line_no: int, problems: Problems):
        self.name = name
        self.line_no = line_no
        self.problems = problems
        self.ok = True

    def problem(self, reason: str) -> None:
        self.problems.add(self.name, self.line_no, reason)
        self.ok = False

    def list_of_dicts(self, obj: dict, key: str) -> list[dict]:
        value = obj.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.problem(f'"{key}" must be a list of objects')
            return []
        return value

    def span(self, what: str, start: Any, end: Any, size: int) -> tuple[int, int] | None:
        if not (_is_int(start) and _is_int(end)):
            self.problem(f"{what}: offsets must be integers, got {start!r} and {end!r}")
        elif start < 0 or end < 0:
            self.problem(f"{what}: negative offset")
        elif start >= end:
            self.problem(f"{what}: start {start} is not before end {end}")
        elif end > size:
            self.problem(f"{what}: end {end} is past the end of the text ({size} chars)")
        else:
            return start, end
        return None

    def strings(self, value: Any, what: str) -> str:
        if isinstance(value, str):
            return value
        self.problem(f"{what} must be a string")
        return ""

    def document(self, obj: Any, default_id: str) -> CDocument | None:
        if not isinstance(obj, dict):
            self.problem("expected a JSON object")
            return None
        text = obj.get("text")
        if not isinstance(text, str):
            self.problem('"text" must be a string')
            return None
        external_id = _key(obj.get("external_id")) or _key(obj.get("id")) or default_id
        meta = obj.get("meta", {})
        if not isinstance(meta, dict):
            self.problem('"meta" must be an object')
            meta = {}
        doc = CDocument(
            external_id=external_id,
            text=text,
            group_key=self.strings(obj.get("group_key", ""), '"group_key"'),
            section=self.strings(obj.get("section", ""), '"section"'),
            metadata=dict(meta),
            newline=dominant_newline(text),
        )
        extra = {key: value for key, value in obj.items() if key not in _KNOWN_KEYS}
        if extra:
            doc.metadata[_EXTRA_KEY] = extra
        self.mentions(obj, doc)
        self.relations(obj, doc)
        self.others(obj, doc)
        self.sentences(obj, doc)
        return doc if self.ok else None

    def mentions(self, obj: dict, doc: CDocument) -> None:
        size = len(doc.text)
        ids: set[str] = set()

        def add(raw_id: Any, label: Any, fragments: list[tuple[int, int]], text: str) -> None:
            mention_id = _key(raw_id) if raw_id is not None else f"T{len(doc.mentions) + 1}"
            if mention_id is None:
                self.problem(f"entity id {raw_id!r} must be a string or an integer")
            elif mention_id in ids:
                self.problem(f"duplicate entity id {mention_id}")
            elif not isinstance(label, str) or not label:
                self.problem(f"entity {mention_id}: label must be a non-empty string")
            else:
                ids.add(mention_id)
                doc.mentions.append(CMention(mention_id, label, sorted(fragments), text))

        for entity in self.list_of_dicts(obj, "entities"):
            what = f"entity {entity.get('id', len(doc.mentions) + 1)}"
            raw_fragments = entity.get("fragments")
            if raw_fragments is not None:
                if (
                    not isinstance(raw_fragments, list)
                    or not raw_fragments
                    or not all(isinstance(f, list) and len(f) == 2 for f in raw_fragments)
                ):
                    self.problem(f"{what}: fragments must be a list of [start, end]")
                    continue
                spans = [self.span(what, s, e, size) for s, e in raw_fragments]
            else:
                spans = [self.span(what, entity.get("start_offset"), entity.get("end_offset"), size)]
            fragments = [span for span in spans if span is not None]
            if len(fragments) < len(spans):
                continue
            text = entity.get("text", "")
            add(entity.get("id"), entity.get("label"), fragments, text if isinstance(text, str) else "")

        labels = obj.get("label", [])
        if not isinstance(labels, list):
            self.problem('"label" must be a list of [start, end, label]')
            return
        for item in labels:
            if not (isinstance(item, list) and len(item) == 3):
                self.problem(f'"label": expected [start, end, label], got {item!r}')
                continue
            span = self.span(f"label {item!r}", item[0], item[1], size)
            if span is not None:
                add(None, item[2], [span], "")

    def relations(self, obj: dict, doc: CDocument) -> None:
        mention_ids = {mention.id for mention in doc.mentions}
        ids: set[str] = set()
        for relation in self.list_of_dicts(obj, "relations"):
            raw_id = relation.get("id")
            relation_id = _key(raw_id) if raw_id is not None else f"R{len(doc.relations) + 1}"
            head, tail = _key(relation.get("from_id")), _key(relation.get("to_id"))
            label = relation.get("type")
            if relation_id is None or relation_id in ids:
                self.problem(f"relation id {raw_id!r} is missing, duplicated or not a string/integer")
            elif not isinstance(label, str) or not label:
                self.problem(f"relation {relation_id}: type must be a non-empty string")
            elif head not in mention_ids or tail not in mention_ids:
                missing = relation.get("from_id") if head not in mention_ids else relation.get("to_id")
                self.problem(f"relation {relation_id} refers to a missing entity id {missing!r}")
            else:
                ids.add(relation_id)
                doc.relations.append(CRelation(relation_id, label, head, tail))

    def others(self, obj: dict, doc: CDocument) -> None:
        mention_ids = {mention.id for mention in doc.mentions}
        all_ids = mention_ids | {relation.id for relation in doc.relations}
        for group in self.list_of_dicts(obj, "groups"):
            members = group.get("members")
            if not isinstance(members, list) or not members:
                self.problem("group: members must be a non-empty list of entity ids")
                continue
            keys = [_key(member) for member in members]
            missing = [member for member, key in zip(members, keys, strict=True) if key not in mention_ids]
            if missing:
                self.problem(f"group refers to a missing entity id {missing[0]!r}")
                continue
            members_ids = [key for key in keys if key is not None]
            doc.groups.append(CGroup(str(group.get("id", "*")), str(group.get("type", "")), members_ids))
        specs: tuple[tuple[str, Any, list[Any]], ...] = (
            ("attributes", CAttribute, doc.attributes),
            ("normalizations", CNormalization, doc.normalizations),
            ("notes", CNote, doc.notes),
        )
        for key, cls, target_list in specs:
            for item in self.list_of_dicts(obj, key):
                try:
                    value = cls(**item)
                except TypeError as exc:
                    self.problem(f'"{key}": {exc}')
                    continue
                if value.target not in all_ids and value.target not in {a.id for a in doc.attributes}:
                    self.problem(f'"{key}": {value.id} refers to a missing id {value.target!r}')
                    continue
                target_list.append(value)

    def sentences(self, obj: dict, doc: CDocument) -> None:
        raw = obj.get("sentences")
        if raw is None:
            doc.sentences = [CSentence(s, e) for s, e in line_spans(doc.text) if doc.text[s:e].strip()]
            return
        if not isinstance(raw, list) or not all(isinstance(item, list) and len(item) == 2 for item in raw):
            self.problem('"sentences" must be a list of [start, end]')
            return
        for start, end in raw:
            span = self.span("sentence", start, end, len(doc.text))
            if span is not None:
                doc.sentences.append(CSentence(*span))


# --------------------------------------------------------------------------------------------- writing


def _default_sentences(doc: CDocument) -> list[CSentence]:
    return [CSentence(s, e) for s, e in line_spans(doc.text) if doc.text[s:e].strip()]


def _document_object(doc: CDocument) -> dict:
    entities = []
    for mention in doc.mentions:
        entity: dict[str, Any] = {
            "id": mention.id,
            "label": mention.type,
            "start_offset": mention.start,
            "end_offset": mention.end,
        }
        if mention.is_discontinuous:
            entity["fragments"] = [[start, end] for start, end in mention.fragments]
        if mention.text:
            entity["text"] = mention.text
        entities.append(entity)
    obj: dict[str, Any] = {
        "external_id": doc.external_id,
        "text": doc.text,
        "entities": entities,
        "relations": [
            {"id": r.id, "from_id": r.head, "to_id": r.tail, "type": r.type} for r in doc.relations
        ],
    }
    if doc.groups:
        obj["groups"] = [{"id": g.id, "type": g.type, "members": list(g.members)} for g in doc.groups]
    for key, items in (
        ("attributes", doc.attributes),
        ("normalizations", doc.normalizations),
        ("notes", doc.notes),
    ):
        if items:
            obj[key] = [dict(vars(item)) for item in items]
    if doc.sentences != _default_sentences(doc):
        obj["sentences"] = [[s.start, s.end] for s in doc.sentences]
    if doc.group_key:
        obj["group_key"] = doc.group_key
    if doc.section:
        obj["section"] = doc.section
    metadata = {key: value for key, value in doc.metadata.items() if key != _EXTRA_KEY}
    if metadata:
        obj["meta"] = metadata
    for key, value in doc.metadata.get(_EXTRA_KEY, {}).items():
        obj.setdefault(key, value)
    return obj


def jsonl_lines(docs: Iterable[CDocument]) -> Iterator[str]:
    """One JSON line (no newline) per document."""
    for doc in docs:
        yield json.dumps(_document_object(doc), ensure_ascii=False)


def write_jsonl(docs: Iterable[CDocument], path: str | Path) -> int:
    """Write ``docs`` as JSONL to ``path`` (UTF-8, ``\\n`` line ends); returns the number of documents."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for line in jsonl_lines(docs):
            handle.write(line + "\n")
            count += 1
    return count
