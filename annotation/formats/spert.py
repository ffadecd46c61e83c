"""SpERT-style JSON: a list of sentences
``{"orig_id", "tokens": [...], "entities": [{"type", "start", "end"}], "relations": [{"type", "head", "tail"}]}``
(``end`` exclusive, token indices; ``head``/``tail`` index ``entities``) and an optional ``types.json``
``{"entities": {name: {"short", "verbose"}}, "relations": {name: {"short", "verbose", "symmetric"}}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeGuard

from .corpus import (
    CDocument,
    CMention,
    CRelation,
    CSentence,
    Problems,
    split_external_id,
)
from .sources import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, Source, collect_files, decode_text
from .tokens import ExportStats, tokenize_document

__all__ = ["read_spert", "spert_sentences", "spert_types", "write_spert"]

_GROUPED_ID = re.compile(r"(.+):([0-9]+)")


def read_spert(
    source: Source,
    types_path: str | Path | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> tuple[list[CDocument], dict | None]:
    """Read SpERT JSON: a ``.json`` file, a folder or zip of them, or ``{name: bytes}``.

    Character offsets come from the tokens joined by single spaces. Sentences whose ``orig_id`` is
    ``DOCID:N`` are gathered, in file order, into one document ``DOCID`` whose text is their texts joined
    by ``"\\n"`` (one CSentence each); any other sentence is a document of its own, with ``orig_id`` (or its
    index in the file) as external id. A file holding a types object (``{"entities": {...}, "relations":
    {...}}``) is taken as the types when ``types_path`` is not given. Returns ``(documents, types or None)``;
    with types, entity and relation types are checked against them.

    Problems name the file and, as the line, the 0-based index of the sentence in the file's list.
    """
    problems = Problems()
    files = collect_files(
        source, suffixes=(".json",), problems=problems, max_bytes=max_bytes, max_files=max_files
    )
    types = None
    if types_path is not None:
        types_files = collect_files(types_path, suffixes=(".json",), problems=problems)
        for name, data in types_files[:1]:
            loaded = _load_json(name, data, problems)
            if loaded is not None:
                types = _check_types(name, loaded, problems)
    sentence_lists = []
    for name, data in files:
        loaded = _load_json(name, data, problems)
        if loaded is None:
            continue
        if isinstance(loaded, dict) and _looks_like_types(loaded):
            if types_path is None and types is None:
                types = _check_types(name, loaded, problems)
            continue
        if not isinstance(loaded, list):
            problems.add(name, None, "expected a JSON list of sentences")
            continue
        sentence_lists.append((name, loaded))
    problems.raise_if_any()

    builder = _DocumentBuilder(problems, types)
    for name, sentences in sentence_lists:
        for index, sentence in enumerate(sentences):
            builder.add(name, index, sentence)
    problems.raise_if_any()
    return builder.documents(), types


def _load_json(name: str, data: bytes, problems: Problems) -> Any:
    decoded = decode_text(name, data, problems)
    if decoded is None:
        return None
    try:
        return json.loads(decoded[0])
    except json.JSONDecodeError as exc:
        problems.add(name, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
        return None


def _looks_like_types(value: dict) -> bool:
    return set(value) >= {"entities", "relations"} and isinstance(value.get("entities"), dict)


def _check_types(name: str, value: Any, problems: Problems) -> dict | None:
    if (
        not isinstance(value, dict)
        or not _looks_like_types(value)
        or not isinstance(value["relations"], dict)
    ):
        problems.add(name, None, 'types: expected {"entities": {...}, "relations": {...}}')
        return None
    return value


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class _DocumentBuilder:
    def __init__(self, problems: Problems, types: dict | None):
        self.problems = problems
        self.types = types
        self.docs: dict[str, CDocument] = {}  # insertion order = first appearance
        self.singles = 0

    def documents(self) -> list[CDocument]:
        return list(self.docs.values())

    def add(self, name: str, index: int, sentence: Any) -> None:
        def problem(reason: str) -> None:
            self.problems.add(name, index, reason)

        if not isinstance(sentence, dict):
            problem("expected a JSON object")
            return
        tokens = sentence.get("tokens")
        entities = sentence.get("entities", [])
        relations = sentence.get("relations", [])
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            problem('"tokens" must be a list of strings')
            return
        if not isinstance(entities, list) or not isinstance(relations, list):
            problem('"entities" and "relations" must be lists')
            return
        ok = True
        for i, entity in enumerate(entities):
            if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
                problem(f"entity {i}: expected {{'type', 'start', 'end'}}")
                ok = False
                continue
            start, end = entity.get("start"), entity.get("end")
            if not (_is_int(start) and _is_int(end)):
                problem(f"entity {i}: start and end must be integers")
                ok = False
            elif not 0 <= start < end <= len(tokens):
                problem(f"entity {i}: span [{start}, {end}) is not within the {len(tokens)} tokens")
                ok = False
            elif self.types and entity["type"] not in self.types["entities"]:
                problem(f"entity {i}: type {entity['type']!r} is not in the types")
                ok = False
        for i, relation in enumerate(relations):
            if not isinstance(relation, dict) or not isinstance(relation.get("type"), str):
                problem(f"relation {i}: expected {{'type', 'head', 'tail'}}")
                ok = False
                continue
            for end in ("head", "tail"):
                value = relation.get(end)
                if not _is_int(value) or not 0 <= value < len(entities):
                    problem(f"relation {i}: {end} {value!r} is not an entity index (0..{len(entities) - 1})")
                    ok = False
            if self.types and relation["type"] not in self.types["relations"]:
                problem(f"relation {i}: type {relation['type']!r} is not in the types")
                ok = False
        if not ok:
            return

        orig_id = sentence.get("orig_id")
        grouped = _GROUPED_ID.fullmatch(orig_id) if isinstance(orig_id, str) else None
        if grouped:
            external_id = grouped.group(1)
        else:
            external_id = str(orig_id) if orig_id is not None else str(index)
            while external_id in self.docs:  # a repeated id: keep the documents apart
                self.singles += 1
                external_id = f"{orig_id if orig_id is not None else index}#{self.singles}"
        doc = self.docs.get(external_id)
        if doc is None:
            group_key, section = split_external_id(external_id)
            doc = CDocument(external_id, "", group_key=group_key, section=section)
            self.docs[external_id] = doc

        offset = len(doc.text) + 1 if doc.sentences else 0
        text = " ".join(tokens)
        doc.text = f"{doc.text}\n{text}" if doc.sentences else text
        doc.sentences.append(CSentence(offset, offset + len(text)))
        token_starts = []
        position = offset
        for token in tokens:
            token_starts.append(position)
            position += len(token) + 1
        first_id = len(doc.mentions)
        for entity in entities:
            start = token_starts[entity["start"]]
            end = token_starts[entity["end"] - 1] + len(tokens[entity["end"] - 1])
            doc.mentions.append(CMention(f"T{len(doc.mentions) + 1}", entity["type"], [(start, end)]))
        for relation in relations:
            head = doc.mentions[first_id + relation["head"]].id
            tail = doc.mentions[first_id + relation["tail"]].id
            doc.relations.append(CRelation(f"R{len(doc.relations) + 1}", relation["type"], head, tail))


# --------------------------------------------------------------------------------------------- writing


def spert_sentences(
    docs: Iterable[CDocument], *, discontinuous: str = "cover"
) -> tuple[list[dict], ExportStats]:
    """The SpERT sentences of ``docs`` and what was left out; see :func:`write_spert`."""
    out: list[dict] = []
    stats = ExportStats()
    for doc in docs:
        stats.documents += 1
        sentences, dropped = tokenize_document(doc, discontinuous=discontinuous)
        stats.dropped_mentions += dropped
        where: dict[str, tuple[int, int]] = {}  # mention id -> (sentence number, entity index)
        for number, tokenized in enumerate(sentences):
            for entity_index, (mention_index, _, _) in enumerate(tokenized.mentions):
                where.setdefault(doc.mentions[mention_index].id, (number, entity_index))
        relations: list[list[dict]] = [[] for _ in sentences]
        for relation in doc.relations:
            head, tail = where.get(relation.head), where.get(relation.tail)
            if head is None or tail is None or head[0] != tail[0]:
                stats.dropped_relations += 1
                continue
            relations[head[0]].append({"type": relation.type, "head": head[1], "tail": tail[1]})
        for tokenized, sentence_relations in zip(sentences, relations, strict=True):
            entities = [
                {"type": doc.mentions[index].type, "start": start, "end": end}
                for index, start, end in tokenized.mentions
            ]
            out.append(
                {
                    "orig_id": f"{doc.external_id}:{tokenized.sentence.start}",
                    "tokens": tokenized.token_texts(doc.text),
                    "entities": entities,
                    "relations": sentence_relations,
                }
            )
            stats.sentences += 1
            stats.mentions += len(entities)
            stats.relations += len(sentence_relations)
    return out, stats


def spert_types(schema: Mapping[str, Any]) -> dict:
    """A SpERT ``types.json`` object from a schema, either SpERT-like ``{"entities": names or {name: info},
    "relations": names or {name: info}}`` or TrialMark's ``{"entity_types": [{"name": ...}],
    "relation_types": [{"name": ..., "symmetric": ...}]}``; info may hold ``short``, ``verbose`` and, for
    relations, ``symmetric`` (False when absent)."""

    def entries(value: Any, relation: bool) -> dict:
        if isinstance(value, Mapping):
            items = list(value.items())
        else:
            items = [
                (item["name"], item) if isinstance(item, Mapping) else (item, {}) for item in value or ()
            ]
        out = {}
        for name, info in items:
            info = info if isinstance(info, Mapping) else {}
            entry = {"short": info.get("short", name), "verbose": info.get("verbose", name)}
            if relation:
                entry["symmetric"] = bool(info.get("symmetric", False))
            out[name] = entry
        return out

    return {
        "entities": entries(schema.get("entities", schema.get("entity_types")), False),
        "relations": entries(schema.get("relations", schema.get("relation_types")), True),
    }


def write_spert(
    docs: Iterable[CDocument],
    path: str | Path,
    *,
    discontinuous: str = "cover",
    types_path: str | Path | None = None,
    schema: Mapping[str, Any] | None = None,
) -> ExportStats:
    """Write the sentences of ``docs`` as SpERT JSON to ``path``; returns what was written and left out.

    One item per sentence (``orig_id`` = ``DOCID:<sentence start offset>``). Tokens are the
    whitespace-separated pieces of the sentence cut at every mention boundary, so each mention covers whole
    tokens. Left out: mentions crossing a sentence boundary, discontinuous mentions when
    ``discontinuous="skip"`` (with the default ``"cover"`` they become their covering span), and relations
    one of whose ends was left out or whose ends lie in different sentences. Groups, attributes and notes
    have no place in SpERT. Duplicate mentions stay duplicates.

    With ``types_path``, a types.json is written too: from ``schema`` (see :func:`spert_types`) or, without
    one, from the types found in ``docs`` (no relation marked symmetric).
    """
    docs = list(docs)
    sentences, stats = spert_sentences(docs, discontinuous=discontinuous)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(sentences, handle, ensure_ascii=False)
    if types_path is not None:
        if schema is None:
            schema = {
                "entities": sorted({m.type for doc in docs for m in doc.mentions}),
                "relations": sorted({r.type for doc in docs for r in doc.relations}),
            }
        with open(types_path, "w", encoding="utf-8") as handle:
            json.dump(spert_types(schema), handle, ensure_ascii=False, indent=2)
    return stats
