"""The intermediate representation every reader produces and every writer consumes.

Offsets are ``[start, end)`` character offsets (Unicode code points) into ``CDocument.text``. Nothing here
imports Django: the import/export services turn these dataclasses into rows and back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "CAttribute",
    "CDocument",
    "CGroup",
    "CMention",
    "CNormalization",
    "CNote",
    "CRelation",
    "CSentence",
    "FormatError",
    "Problem",
    "Problems",
    "dominant_newline",
    "line_spans",
    "split_external_id",
]


@dataclass
class CMention:
    id: str
    type: str
    fragments: list[tuple[int, int]]  # sorted [start, end) pairs; more than one = discontinuous
    text: str = ""  # the text column exactly as the source wrote it (BRAT); "" when the source has none

    @property
    def start(self) -> int:
        return self.fragments[0][0]

    @property
    def end(self) -> int:
        return max(end for _, end in self.fragments)

    @property
    def is_discontinuous(self) -> bool:
        return len(self.fragments) > 1


@dataclass
class CRelation:
    id: str
    type: str
    head: str  # mention id
    tail: str  # mention id


@dataclass
class CGroup:
    """A set of mentions, e.g. Chia's ``*<TAB>OR T1 T2`` alternatives. BRAT gives every group the id "*";
    the position in ``CDocument.groups`` is what tells two groups apart."""

    id: str
    type: str
    members: list[str]


@dataclass
class CAttribute:
    """BRAT ``A``/``M`` line: a binary (value None) or multi-valued attribute of an annotation."""

    id: str
    type: str
    target: str
    value: str | None = None


@dataclass
class CNormalization:
    """BRAT ``N`` line: ``N1<TAB>Reference T1 UMLS:C0011849<TAB>Diabetes``."""

    id: str
    type: str
    target: str
    ref: str
    text: str = ""


@dataclass
class CNote:
    """BRAT ``#`` line: ``#1<TAB>AnnotatorNotes T1<TAB>free text``."""

    id: str
    type: str
    target: str
    text: str = ""


@dataclass
class CSentence:
    start: int
    end: int


@dataclass
class CDocument:
    external_id: str
    text: str
    mentions: list[CMention] = field(default_factory=list)
    relations: list[CRelation] = field(default_factory=list)
    groups: list[CGroup] = field(default_factory=list)
    sentences: list[CSentence] = field(default_factory=list)
    group_key: str = ""  # e.g. the trial id "NCT00050349"
    section: str = ""  # "inclusion", "exclusion" or ""
    metadata: dict = field(default_factory=dict)
    newline: str = "\n"  # dominant newline convention of text: "\r\n" or "\n"
    attributes: list[CAttribute] = field(default_factory=list)
    normalizations: list[CNormalization] = field(default_factory=list)
    notes: list[CNote] = field(default_factory=list)

    def sentence_text(self, sentence: CSentence) -> str:
        return self.text[sentence.start : sentence.end]

    def mention_text(self, mention: CMention) -> str:
        """The document text of a mention, fragments joined by one space."""
        return " ".join(self.text[start:end] for start, end in mention.fragments)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.reason}"
        return f"{self.file}:{self.line}: {self.reason}"


class FormatError(Exception):
    """Raised by every reader (and by writers given unusable input) with all the problems found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found:"
        super().__init__("\n".join([head, *(str(problem) for problem in self.problems)]))


class Problems:
    """Collects problems while a reader goes on, so that one error lists all of them."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: str, line: int | None, reason: str) -> None:
        self.items.append(Problem(file, line, reason))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise FormatError(self.items)


_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_SECTION_SUFFIXES = {"inc": "inclusion", "exc": "exclusion"}


def line_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """``[start, end)`` of every line of ``text[start:end]``, line terminators (\\r\\n, \\n, \\r) excluded."""
    end = len(text) if end is None else end
    spans = []
    pos = start
    for match in _LINE_BREAK.finditer(text, start, end):
        spans.append((pos, match.start()))
        pos = match.end()
    if pos < end:
        spans.append((pos, end))
    return spans


def dominant_newline(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def split_external_id(stem: str) -> tuple[str, str]:
    """``NCT00050349_exc`` -> ``("NCT00050349", "exclusion")``; the group key is the part before the first
    underscore ("" when there is none), the section comes from an ``_inc``/``_exc`` suffix."""
    group_key = stem.partition("_")[0] if "_" in stem else ""
    suffix = stem.rpartition("_")[2].lower() if "_" in stem else ""
    return group_key, _SECTION_SUFFIXES.get(suffix, "")
