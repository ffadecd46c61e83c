"""Sentence-level tokens for the token-based export formats (SpERT JSON, CoNLL/BIO).

Tokens are the whitespace-separated pieces of a sentence, further cut at every boundary of a mention placed
in that sentence, so that every mention covers whole tokens. A mention is placed in the sentence that holds
its span once leading/trailing whitespace is trimmed off (Chia has spans that swallow a ``\\r``); a mention
that still crosses a sentence boundary is left out, and so is a discontinuous one with
``discontinuous="skip"`` (with ``"cover"`` it becomes its covering span).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from .corpus import CDocument, CMention, CSentence, FormatError, Problem, line_spans

__all__ = ["ExportStats", "TokenizedSentence", "check_choice", "document_sentences", "tokenize_document"]

_NON_SPACE = re.compile(r"\S+")


@dataclass
class ExportStats:
    """What a token-based writer wrote and what it had to leave out."""

    documents: int = 0
    sentences: int = 0
    mentions: int = 0
    relations: int = 0
    dropped_mentions: int = 0  # crossing a sentence boundary, discontinuous with "skip", or whitespace only
    dropped_relations: int = 0  # an end was left out, or the ends lie in different sentences
    merged_mentions: int = 0  # CoNLL: left out because they overlap a mention that was kept


@dataclass
class TokenizedSentence:
    sentence: CSentence
    tokens: list[tuple[int, int]]  # [start, end) into the document text
    # (index into document.mentions, first token, last token + 1), in document mention order
    mentions: list[tuple[int, int, int]] = field(default_factory=list)

    def token_texts(self, text: str) -> list[str]:
        return [text[start:end] for start, end in self.tokens]


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise FormatError([Problem(name, None, f"must be one of {', '.join(choices)}; got {value!r}")])


def document_sentences(doc: CDocument) -> list[CSentence]:
    """The document's sentences, or its non-blank lines when it has none."""
    if doc.sentences:
        return sorted(doc.sentences, key=lambda s: (s.start, s.end))
    return [CSentence(s, e) for s, e in line_spans(doc.text) if doc.text[s:e].strip()]


def _mention_span(text: str, mention: CMention, discontinuous: str) -> tuple[int, int] | None:
    if not mention.fragments or (mention.is_discontinuous and discontinuous == "skip"):
        return None
    start, end = mention.fragments[0][0], min(max(e for _, e in mention.fragments), len(text))
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def tokenize_document(doc: CDocument, *, discontinuous: str = "cover") -> tuple[list[TokenizedSentence], int]:
    """Tokenized sentences of ``doc`` (those with at least one token) and the number of mentions left out."""
    check_choice("discontinuous", discontinuous, ("cover", "skip"))
    sentences = document_sentences(doc)
    starts = [s.start for s in sentences]
    placed: list[list[tuple[int, int, int]]] = [[] for _ in sentences]  # (mention index, start, end)
    dropped = 0
    for index, mention in enumerate(doc.mentions):
        span = _mention_span(doc.text, mention, discontinuous)
        position = bisect_right(starts, span[0]) - 1 if span else -1
        if span is None or position < 0 or span[1] > sentences[position].end:
            dropped += 1
            continue
        placed[position].append((index, span[0], span[1]))

    result = []
    for sentence, mentions in zip(sentences, placed, strict=True):
        cuts = sorted({offset for _, start, end in mentions for offset in (start, end)})
        tokens: list[tuple[int, int]] = []
        for match in _NON_SPACE.finditer(doc.text, sentence.start, sentence.end):
            start, end = match.span()
            for cut in cuts[bisect_right(cuts, start) : bisect_left(cuts, end)]:
                tokens.append((start, cut))
                start = cut
            tokens.append((start, end))
        if not tokens:
            continue
        first = {start: i for i, (start, _) in enumerate(tokens)}
        after = {end: i + 1 for i, (_, end) in enumerate(tokens)}
        token_mentions = [(index, first[start], after[end]) for index, start, end in mentions]
        result.append(TokenizedSentence(sentence, tokens, token_mentions))
    return result, dropped
