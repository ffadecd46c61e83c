"""Word tokens, gold-to-token alignment, and wordpieces.

Word tokens are character spans cut at every mention boundary, so each mention covers whole words.
Wordpieces come from the encoder's fast tokenizer, run on the words (``is_split_into_words``) with
offset mapping, so a wordpiece never straddles a word boundary. A word the tokenizer drops entirely
(e.g. a lone zero-width space) gets one ``[UNK]`` piece so every word has at least one wordpiece.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .types import Example, Mention, Schema

logger = logging.getLogger(__name__)

# CJK ideographs are words of one character each (as BERT's basic tokenizer splits them): Chinese has no
# spaces, and a run of ideographs as one word would hide every mention boundary inside it.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_WORD_RE = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])\w)+|[^\w\s]", re.UNICODE)


def word_spans(
    text: str, mentions: Iterable[Mention] = (), tokens: Sequence[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """Word character spans of ``text``, cut at every mention boundary (empty spans dropped)."""
    base = list(tokens) if tokens is not None else [m.span() for m in _WORD_RE.finditer(text)]
    cuts = sorted({p for m in mentions for p in (m.start, m.end)})
    out: list[tuple[int, int]] = []
    for s, e in base:
        i = bisect.bisect_right(cuts, s)
        start = s
        while i < len(cuts) and cuts[i] < e:
            if cuts[i] > start:
                out.append((start, cuts[i]))
                start = cuts[i]
            i += 1
        if e > start:
            out.append((start, e))
    # Mention text outside any base token (e.g. a mention over characters a given tokenisation skipped)
    # must still be covered: add the uncovered non-space stretches inside mentions as words.
    if mentions:
        out = _cover_mentions(text, out, mentions)
    return out


def _cover_mentions(
    text: str, words: list[tuple[int, int]], mentions: Iterable[Mention]
) -> list[tuple[int, int]]:
    covered = bytearray(len(text) + 1)
    for s, e in words:
        covered[s:e] = b"\x01" * (e - s)
    extra: list[tuple[int, int]] = []
    cuts = sorted({p for m in mentions for p in (m.start, m.end)})
    for m in mentions:
        pos = m.start
        while pos < m.end:
            if covered[pos] or text[pos].isspace():
                pos += 1
                continue
            start = pos
            while pos < m.end and not covered[pos] and not text[pos].isspace():
                pos += 1
                if pos in cuts:
                    break
            extra.append((start, pos))
            covered[start:pos] = b"\x01" * (pos - start)
    if not extra:
        return words
    return sorted(words + extra)


def mention_word_span(words: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """Word index span ``[ws, we)`` of the words overlapping ``[start, end)``; None if it covers no word."""
    starts = [w[0] for w in words]
    ws = bisect.bisect_right(starts, start) - 1
    if ws < 0 or words[ws][1] <= start:
        ws += 1
    we = bisect.bisect_left(starts, end)
    if ws >= we:
        return None
    return ws, we


@dataclass
class Doc:
    """Token-level view of one example (internal to mlcore)."""

    example: Example
    words: list[tuple[int, int]]
    wp_ids: list[int] = field(default_factory=list)  # wordpiece ids, no special tokens
    wp_word: list[int] = field(default_factory=list)  # word index of each wordpiece
    ents: list[tuple[int, int, int]] = field(default_factory=list)  # (word start, word end, type idx)
    rels: list[tuple[int, int, int]] = field(default_factory=list)  # (head ent, tail ent, rel idx)
    mention_to_ent: list[int | None] = field(default_factory=list)
    ent_chars: list[tuple[int, int]] = field(default_factory=list)  # character span of each ent

    @property
    def n_words(self) -> int:
        return len(self.words)


@dataclass
class AlignStats:
    mentions: int = 0
    mentions_dropped: int = 0  # cover no word (whitespace-only) or unknown type
    duplicate_mentions: int = 0
    relations: int = 0
    relations_dropped: int = 0


def build_docs(
    examples: Sequence[Example],
    tokenizer,
    schema: Schema,
    *,
    with_gold: bool = True,
    cut_at_mentions: bool = True,
    stats: AlignStats | None = None,
) -> list[Doc]:
    """Align examples to words and wordpieces; gold mentions/relations become word-level indices.

    ``cut_at_mentions=False`` keeps the words independent of the gold (for evaluation: prediction must
    not see gold boundaries); gold mentions then map to the words they overlap.
    """
    ent_idx = {t: i for i, t in enumerate(schema.entity_types)}
    rel_idx = {r: i for i, r in enumerate(schema.relation_names)}
    stats = stats if stats is not None else AlignStats()
    docs: list[Doc] = []
    for ex in examples:
        mentions = ex.mentions if with_gold and cut_at_mentions else []
        words = word_spans(ex.text, mentions, ex.tokens)
        doc = Doc(example=ex, words=words)
        if with_gold:
            seen: dict[tuple[int, int, int], int] = {}
            for m in ex.mentions:
                stats.mentions += 1
                span = mention_word_span(words, m.start, m.end)
                if span is None or m.type not in ent_idx:
                    stats.mentions_dropped += 1
                    doc.mention_to_ent.append(None)
                    continue
                key = (span[0], span[1], ent_idx[m.type])
                if key in seen:
                    stats.duplicate_mentions += 1
                else:
                    seen[key] = len(doc.ents)
                    doc.ents.append(key)
                    doc.ent_chars.append((m.start, m.end))
                doc.mention_to_ent.append(seen[key])
            rseen: set[tuple[int, int, int]] = set()
            for r in ex.relations:
                stats.relations += 1
                h = doc.mention_to_ent[r.head] if 0 <= r.head < len(doc.mention_to_ent) else None
                t = doc.mention_to_ent[r.tail] if 0 <= r.tail < len(doc.mention_to_ent) else None
                if h is None or t is None or r.type not in rel_idx or h == t:
                    stats.relations_dropped += 1
                    continue
                key = (h, t, rel_idx[r.type])
                if key not in rseen:
                    rseen.add(key)
                    doc.rels.append(key)
        docs.append(doc)
    add_wordpieces(docs, tokenizer)
    if stats.mentions_dropped or stats.relations_dropped:
        logger.warning(
            "alignment dropped %d of %d mentions and %d of %d relations (empty span, unknown type or self-loop)",
            stats.mentions_dropped,
            stats.mentions,
            stats.relations_dropped,
            stats.relations,
        )
    return docs


def add_wordpieces(docs: Sequence[Doc], tokenizer, chunk: int = 2048) -> None:
    """Fill ``wp_ids``/``wp_word`` with the fast tokenizer (batched; offsets checked)."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("mlcore needs a fast (Rust) tokenizer for offset mapping")
    unk = tokenizer.unk_token_id
    for c in range(0, len(docs), chunk):
        part = [d for d in docs[c : c + chunk] if d.words]
        if not part:
            continue
        batch = [[d.example.text[s:e] for s, e in d.words] for d in part]
        enc = tokenizer(
            batch,
            is_split_into_words=True,
            add_special_tokens=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        for i, d in enumerate(part):
            ids = enc["input_ids"][i]
            word_ids = enc.word_ids(i)
            by_word: list[list[int]] = [[] for _ in d.words]
            for tok, w in zip(ids, word_ids, strict=True):
                if w is not None:
                    by_word[w].append(tok)
            d.wp_ids, d.wp_word = [], []
            for w, toks in enumerate(by_word):
                for tok in toks or [unk]:
                    d.wp_ids.append(tok)
                    d.wp_word.append(w)
