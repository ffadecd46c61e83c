"""Plain text criteria, without annotations.

``mode="lines"``: one criterion per non-blank line (Chia's layout); one document per file.

``mode="sections"``: eligibility sections as pasted from ClinicalTrials.gov. "Inclusion Criteria:" /
"Exclusion Criteria:" headers (any case; "Key inclusion criteria", "INCLUSION CRITERIA FOR COHORT A:", ...)
start a section, and each section becomes a document ``<stem>_inc`` / ``<stem>_exc`` (``_inc_2`` for a second
inclusion section). Text before the first header, if it holds criteria, is a document ``<stem>`` without a
section. Within a section a criterion starts at a bullet (``-``, ``*``, ``•``, ``·``, ...) or a number
(``1.``, ``1)``, ``a)``, ``(i)``, ...) or, in a section without them, at each line. A line without a marker
continues the criterion above it when no blank line separates them or when it is indented deeper than that
criterion's marker (wrapped text); after a blank line, an unmarked line at the marker's indentation starts a
new criterion. Marker-less criteria (no bullets at all) are one per line, except that a line starting in lower
case continues the one above.

A document's text is its section's slice of the input, character for character (bullets and line breaks
included); its sentences are the criteria, bullet markers excluded; ``metadata["source_offset"]`` is where the
slice starts in the input, so sentence offsets map back to the original exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .corpus import (
    CDocument,
    CSentence,
    FormatError,
    Problem,
    Problems,
    dominant_newline,
    line_spans,
    split_external_id,
)
from .sources import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, Source, collect_files, decode_text

__all__ = ["read_text", "split_sections"]

_HEADER = re.compile(
    r"""\s*(?:(?:key|main|major|general|additional|specific|principal|other|study|trial|patient|subject
              |participant|donor|recipient)s?\s+){0,2}
        (?P<kind>inclusion|exclusion)\s+criteri(?:a|on)
        (?:\s*\([^)\n]{0,40}\)|\s+for\s[^:\n]{0,40}?)?  # "for cohort A", "(all)"
        \s*(?:[:\-–—]|$)[ \t]*""",
    re.IGNORECASE | re.VERBOSE,
)
_SHORT_HEADER = re.compile(r"\s*(?P<kind>inclusion|exclusion)s?\s*:?\s*", re.IGNORECASE)  # "Inclusion:"
# lines that are headings but start no inclusion/exclusion section
_OTHER_HEADER = re.compile(
    r"""\s*(?:(?:study|trial|key)\s+)?
        (?:(?:inclusion\s*(?:and|&|/)\s*exclusion|eligibility)\s+)?criteria\s*:?\s*
      |\s*eligibility\s*:?\s*
      |(?-i:\s*[A-Z][A-Z0-9 ,/&()\-]{2,60}:\s*)     # NCI-style "DISEASE CHARACTERISTICS:"
    """,
    re.IGNORECASE | re.VERBOSE,
)
_MARKER = re.compile(
    r"""(?P<indent>[ \t]*)
        (?:[-*•·▪◦‣○●■□–—]
          |\(?(?:[0-9]{1,3}|[a-zA-Z]|[ivxIVX]{1,5})[.)](?:[0-9]{1,2}[.)]?)*
          |\((?:[0-9]{1,3}|[a-zA-Z]|[ivxIVX]{1,5})\)
        )[ \t]+(?=\S)""",
    re.VERBOSE,
)
_SECTIONS = {"inclusion": ("inclusion", "_inc"), "exclusion": ("exclusion", "_exc")}


@dataclass
class _Section:
    kind: str  # "inclusion", "exclusion" or ""
    start: int  # offset in the input just after the header
    end: int
    criteria: list[tuple[int, int]]  # offsets in the input


def read_text(
    source: Source | bytes,
    *,
    mode: str = "lines",
    name: str = "text",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> list[CDocument]:
    """Criteria documents from plain text; see the module docstring for ``mode``.

    ``source``: an ``os.PathLike`` (a ``.txt`` file, or a folder or zip of them), a ``{name: bytes}``
    mapping, or the text itself as ``str`` or ``bytes`` (named ``name``; a ``str`` is never taken for a
    path, so user input can be passed safely). Documents are named after the file stem.
    """
    if mode not in ("lines", "sections"):
        raise FormatError([Problem(name, None, f"mode must be 'lines' or 'sections', got {mode!r}")])
    problems = Problems()
    if isinstance(source, str):
        inputs = [(name, source)]
    else:
        if isinstance(source, bytes):
            if len(source) > max_bytes:
                raise FormatError([Problem(name, None, f"too large: more than {max_bytes:,} bytes")])
            files = [(name, source)]
        else:
            files = collect_files(
                source,
                suffixes=(".txt",),
                problems=problems,
                max_bytes=max_bytes,
                max_files=max_files,
            )
        inputs = []
        for file_name, data in files:
            decoded = decode_text(file_name, data, problems)
            if decoded is not None:
                inputs.append((file_name, decoded[0]))
    problems.raise_if_any()

    documents = []
    for file_name, text in inputs:
        stem = file_name.rpartition("/")[2]
        stem = stem[:-4] if stem.lower().endswith(".txt") else stem
        if mode == "lines":
            group_key, section = split_external_id(stem)
            documents.append(
                CDocument(
                    external_id=stem,
                    text=text,
                    sentences=[CSentence(s, e) for s, e in line_spans(text) if text[s:e].strip()],
                    group_key=group_key,
                    section=section,
                    newline=dominant_newline(text),
                )
            )
        else:
            documents.extend(_section_documents(stem, text))
    return documents


def _section_documents(stem: str, text: str) -> list[CDocument]:
    documents = []
    counts: dict[str, int] = {}
    for section in split_sections(text):
        if not section.criteria:
            continue
        suffix = _SECTIONS[section.kind][1] if section.kind else ""
        counts[suffix] = counts.get(suffix, 0) + 1
        external_id = stem + suffix + (f"_{counts[suffix]}" if counts[suffix] > 1 else "")
        first = section.criteria[0][0]
        line_begin = max(text.rfind("\n", 0, first), text.rfind("\r", 0, first)) + 1
        start = max(line_begin, section.start)  # from the start of its line: the bullet is part of the text
        end = section.criteria[-1][1]
        body = text[start:end]
        documents.append(
            CDocument(
                external_id=external_id,
                text=body,
                sentences=[CSentence(s - start, e - start) for s, e in section.criteria],
                group_key=stem,
                section=section.kind,
                metadata={"source_offset": start},
                newline=dominant_newline(body),
            )
        )
    return documents


def split_sections(text: str) -> list[_Section]:
    """The sections of ``text`` with their criteria (offsets into ``text``); the first, kind "", holds
    what comes before any header."""
    sections = [_Section("", 0, len(text), [])]
    current: list[int] | None = None  # [start, end] of the criterion being built
    marker_indent = -1  # indentation of the current criterion's marker; -1: it had none
    blank_before = False

    def close() -> None:
        nonlocal current
        if current is not None:
            sections[-1].criteria.append((current[0], current[1]))
            current = None

    for line_start, line_end in line_spans(text):
        line = text[line_start:line_end]
        if not line.strip():
            blank_before = True
            continue
        header = _SHORT_HEADER.fullmatch(line) or _HEADER.match(line)
        if header and not _MARKER.match(line) and len(line.strip()) < 120:
            close()
            sections[-1].end = line_start
            rest = line_start + header.end()
            sections.append(_Section(header.group("kind").lower(), rest, len(text), []))
            if rest < line_end:  # "Inclusion Criteria: age 18 or older"
                current, marker_indent = [rest, _rstrip(text, rest, line_end)], -1
            blank_before = False
            continue
        if _OTHER_HEADER.fullmatch(line):
            close()
            blank_before = False
            continue
        marker = _MARKER.match(line)
        indent = len(line) - len(line.lstrip(" \t"))
        content_start = line_start + (marker.end() if marker else indent)
        content_end = _rstrip(text, line_start, line_end)
        if marker:
            close()
            current, marker_indent = [content_start, content_end], len(marker.group("indent"))
        elif current is not None and _continues(line, indent, marker_indent, blank_before):
            current[1] = content_end
        else:
            close()
            current, marker_indent = [content_start, content_end], -1
        blank_before = False
    close()
    return sections


def _continues(line: str, indent: int, marker_indent: int, blank_before: bool) -> bool:
    if marker_indent >= 0:  # the criterion above began with a bullet or a number
        return not blank_before or indent > marker_indent
    return not blank_before and line.lstrip()[:1].islower()


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end
