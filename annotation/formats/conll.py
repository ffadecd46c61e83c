"""CoNLL / BIO export (write only): ``token<TAB>tag`` per line, a blank line after each sentence and
``-DOCSTART-<TAB>O`` (followed by a blank line) at the start of each document.

BIO can only hold flat entities, so per sentence a set of non-overlapping mentions is chosen greedily in an
order given by ``nested``:

- ``"outermost"`` (default): longest span first, then earlier start, then type name; a nested mention gives
  way to the one around it, and of two crossing spans the longer stays;
- ``"innermost"``: shortest span first, then earlier start, then type name;
- ``"first"``: earlier start first, then longer span, then type name (left to right).

A mention overlapping one already chosen is left out (exact duplicates collapse into one). Discontinuous
mentions become their covering span (``discontinuous="cover"``, default) or are left out (``"skip"``).
Tokens are the same as for SpERT: whitespace-separated pieces cut at every mention boundary of the
sentence, so a left-out mention still splits tokens where it started and ended. Relations and groups are not
part of the format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from .corpus import CDocument
from .tokens import ExportStats, check_choice, tokenize_document

__all__ = ["conll_lines", "write_conll"]

_ORDERS = {
    "outermost": lambda start, end, kind: (start - end, start, kind),
    "innermost": lambda start, end, kind: (end - start, start, kind),
    "first": lambda start, end, kind: (start, start - end, kind),
}


def _tag_text(value: str) -> str:
    return "_".join(value.split()) or "_"


def conll_lines(
    docs: Iterable[CDocument],
    *,
    nested: str = "outermost",
    discontinuous: str = "cover",
    stats: ExportStats | None = None,
) -> Iterator[str]:
    """The lines (without newline) of the CoNLL file for ``docs``; counts go into ``stats`` if given."""
    check_choice("nested", nested, tuple(_ORDERS))
    order = _ORDERS[nested]
    stats = stats if stats is not None else ExportStats()
    for doc in docs:
        stats.documents += 1
        yield "-DOCSTART-\tO"
        yield ""
        sentences, dropped = tokenize_document(doc, discontinuous=discontinuous)
        stats.dropped_mentions += dropped
        stats.dropped_relations += len(doc.relations)
        for sentence in sentences:
            candidates = sorted(sentence.mentions, key=lambda m: order(m[1], m[2], doc.mentions[m[0]].type))
            tags = ["O"] * len(sentence.tokens)
            for index, start, end in candidates:
                if any(tag != "O" for tag in tags[start:end]):
                    stats.merged_mentions += 1
                    continue
                label = _tag_text(doc.mentions[index].type)
                tags[start] = f"B-{label}"
                tags[start + 1 : end] = [f"I-{label}"] * (end - start - 1)
                stats.mentions += 1
            for token, tag in zip(sentence.token_texts(doc.text), tags, strict=True):
                yield f"{token}\t{tag}"
            yield ""
            stats.sentences += 1


def write_conll(
    docs: Iterable[CDocument],
    path: str | Path,
    *,
    nested: str = "outermost",
    discontinuous: str = "cover",
) -> ExportStats:
    """Write ``docs`` as CoNLL/BIO to ``path`` (UTF-8); see the module docstring for the rules on nested,
    overlapping and discontinuous mentions. Returns what was written and left out (relations, which the
    format cannot hold, count as dropped)."""
    stats = ExportStats()
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for line in conll_lines(docs, nested=nested, discontinuous=discontinuous, stats=stats):
            handle.write(line + "\n")
    return stats
