"""Plain dataclasses that `mlcore` speaks: examples in, predictions out.

All offsets are character offsets ``[start, end)`` into ``text`` (Unicode code points).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Mention:
    """A contiguous entity mention: character span ``[start, end)`` and type."""

    start: int
    end: int
    type: str
    score: float = 1.0


@dataclass
class Relation:
    """A typed, directed relation between two mentions (indices into ``mentions``)."""

    head: int
    tail: int
    type: str
    score: float = 1.0


@dataclass
class Example:
    """One sentence with (optionally) gold mentions and relations.

    ``tokens`` are word character spans; ``None`` means derive them by a whitespace/punctuation split,
    cut at every mention boundary.
    """

    text: str
    mentions: list[Mention] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    id: str = ""
    tokens: list[tuple[int, int]] | None = None


@dataclass
class Prediction:
    """Model output for one sentence: scored mentions and relations plus active-learning signals.

    Scores are temperature-calibrated probabilities. ``uncertainty`` keys (``_norm`` = sum over candidates
    divided by the number of words): ``entity_lc_max``, ``entity_margin_min``, ``entity_lc_norm``,
    ``entity_entropy_norm`` (over all candidate spans / tags), the same four for ``relation_*`` (over all
    candidate pairs and allowed types), ``score`` (entity + relation entropy, the default ranking key) and,
    with ``mc_samples``, ``entity_bald_norm``, ``relation_bald_norm`` and ``bald``. ``embedding`` is the
    mean-pooled encoder output (for diversity sampling).
    """

    id: str
    text: str
    mentions: list[Mention] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    uncertainty: dict[str, float] = field(default_factory=dict)
    embedding: list[float] | None = None

    def to_example(self) -> Example:
        return Example(
            text=self.text, mentions=list(self.mentions), relations=list(self.relations), id=self.id
        )


@dataclass
class RelationTypeSpec:
    """A relation type; ``allowed_heads``/``allowed_tails`` of ``None`` mean any entity type."""

    name: str
    symmetric: bool = False
    allowed_heads: list[str] | None = None
    allowed_tails: list[str] | None = None

    def allows(self, head_type: str, tail_type: str) -> bool:
        ok_head = self.allowed_heads is None or head_type in self.allowed_heads
        ok_tail = self.allowed_tails is None or tail_type in self.allowed_tails
        if ok_head and ok_tail:
            return True
        if self.symmetric:  # order-free: either orientation may satisfy the constraint
            return (self.allowed_heads is None or tail_type in self.allowed_heads) and (
                self.allowed_tails is None or head_type in self.allowed_tails
            )
        return False


@dataclass
class Schema:
    """Label schema: entity type names and relation type specs (order defines label indices)."""

    entity_types: list[str]
    relation_types: list[RelationTypeSpec] = field(default_factory=list)

    @property
    def relation_names(self) -> list[str]:
        return [r.name for r in self.relation_types]

    @property
    def symmetric_relations(self) -> set[str]:
        return {r.name for r in self.relation_types if r.symmetric}

    def relation(self, name: str) -> RelationTypeSpec:
        for r in self.relation_types:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity_types": list(self.entity_types),
            "relation_types": [asdict(r) for r in self.relation_types],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        rels = []
        for r in d.get("relation_types", []):
            if isinstance(r, str):
                rels.append(RelationTypeSpec(name=r))
            else:
                rels.append(RelationTypeSpec(**r))
        return cls(entity_types=list(d["entity_types"]), relation_types=rels)

    @classmethod
    def from_examples(cls, examples: list[Example], symmetric: set[str] | None = None) -> Schema:
        """Collect types in order of first appearance (for corpora without a types file)."""
        ents: dict[str, None] = {}
        rels: dict[str, None] = {}
        for ex in examples:
            for m in ex.mentions:
                ents.setdefault(m.type, None)
            for r in ex.relations:
                rels.setdefault(r.type, None)
        sym = symmetric or set()
        return cls(list(ents), [RelationTypeSpec(name=n, symmetric=n in sym) for n in rels])
