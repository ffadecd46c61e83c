"""SpERT-style JSON reading and writing.

Reading: ``text`` is the tokens joined by single spaces; token character offsets follow from that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .alignment import mention_word_span, word_spans
from .types import Example, Mention, Relation, RelationTypeSpec, Schema


def _tokens_to_text(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    spans = []
    pos = 0
    for tok in tokens:
        spans.append((pos, pos + len(tok)))
        pos += len(tok) + 1
    return " ".join(tokens), spans


def example_from_spert(doc: dict[str, Any], index: int = 0) -> Example:
    tokens = [str(t) for t in doc["tokens"]]
    text, spans = _tokens_to_text(tokens)
    mentions = []
    for e in doc.get("entities", []):
        s, t = int(e["start"]), int(e["end"])
        if not 0 <= s < t <= len(tokens):
            raise ValueError(f"sentence {index}: entity token span [{s}, {t}) outside 0..{len(tokens)}")
        mentions.append(Mention(spans[s][0], spans[t - 1][1], str(e["type"])))
    relations = []
    for r in doc.get("relations", []):
        h, t = int(r["head"]), int(r["tail"])
        if not (0 <= h < len(mentions) and 0 <= t < len(mentions)):
            raise ValueError(f"sentence {index}: relation argument index out of range ({h}, {t})")
        relations.append(Relation(h, t, str(r["type"])))
    ex_id = str(doc.get("orig_id", doc.get("id", index)))
    return Example(text=text, mentions=mentions, relations=relations, id=ex_id, tokens=spans)


def schema_from_types(types: dict[str, Any]) -> Schema:
    """Schema from a SpERT ``types.json`` (``entities``/``relations`` dicts; ``symmetric`` flags)."""
    rels = []
    for name, spec in types.get("relations", {}).items():
        spec = spec or {}
        rels.append(
            RelationTypeSpec(
                name=name,
                symmetric=bool(spec.get("symmetric", False)),
                allowed_heads=spec.get("allowed_heads"),
                allowed_tails=spec.get("allowed_tails"),
            )
        )
    return Schema(entity_types=list(types.get("entities", {})), relation_types=rels)


def read_spert_json(path: str | Path, types_path: str | Path | None = None) -> tuple[list[Example], Schema]:
    """Read a SpERT-style JSON list of sentences; schema from ``types_path`` or collected from the data."""
    with open(path, encoding="utf-8") as f:
        docs = json.load(f)
    if not isinstance(docs, list):
        raise ValueError(f"{path}: expected a JSON list of sentences")
    examples = [example_from_spert(d, i) for i, d in enumerate(docs)]
    if types_path is not None:
        with open(types_path, encoding="utf-8") as f:
            schema = schema_from_types(json.load(f))
        known_e, known_r = set(schema.entity_types), set(schema.relation_names)
        for ex in examples:
            for m in ex.mentions:
                if m.type not in known_e:
                    raise ValueError(f"{path}: entity type {m.type!r} (sentence {ex.id}) not in {types_path}")
            for r in ex.relations:
                if r.type not in known_r:
                    raise ValueError(
                        f"{path}: relation type {r.type!r} (sentence {ex.id}) not in {types_path}"
                    )
    else:
        schema = Schema.from_examples(examples)
    return examples, schema


def example_to_spert(ex: Example) -> dict[str, Any]:
    """Convert to SpERT JSON; tokens are cut at mention boundaries so every mention covers whole tokens."""
    words = word_spans(ex.text, ex.mentions, ex.tokens)
    entities = []
    for m in ex.mentions:
        ws = mention_word_span(words, m.start, m.end)
        if ws is None:
            raise ValueError(f"sentence {ex.id!r}: mention [{m.start}, {m.end}) covers no token")
        ent = {"type": m.type, "start": ws[0], "end": ws[1]}
        if m.score != 1.0:
            ent["score"] = m.score
        entities.append(ent)
    relations = []
    for r in ex.relations:
        rel: dict[str, Any] = {"type": r.type, "head": r.head, "tail": r.tail}
        if r.score != 1.0:
            rel["score"] = r.score
        relations.append(rel)
    return {
        "orig_id": ex.id,
        "tokens": [ex.text[s:e] for s, e in words],
        "entities": entities,
        "relations": relations,
    }


def write_spert_json(examples: list[Any], path: str | Path) -> None:
    """Write examples (or predictions) as SpERT JSON; scores other than 1.0 are kept as ``score``."""
    docs = []
    for ex in examples:
        if not isinstance(ex, Example):
            ex = ex.to_example()
        docs.append(example_to_spert(ex))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(docs, f, ensure_ascii=False)


def write_types_json(schema: Schema, path: str | Path) -> None:
    types = {
        "entities": {t: {"short": t, "verbose": t} for t in schema.entity_types},
        "relations": {
            r.name: {
                "short": r.name,
                "verbose": r.name,
                "symmetric": r.symmetric,
                **({"allowed_heads": r.allowed_heads} if r.allowed_heads is not None else {}),
                **({"allowed_tails": r.allowed_tails} if r.allowed_tails is not None else {}),
            }
            for r in schema.relation_types
        },
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(types, f, ensure_ascii=False, indent=1)
