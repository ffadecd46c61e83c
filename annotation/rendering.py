"""Inline rendering of a sentence's mentions for the server-rendered pages.

Mentions may nest, overlap and be discontinuous. The sentence text is cut at every fragment boundary
into segments; each segment knows the mentions covering it. Every mention gets a *lane* such that two
mentions sharing a character never share a lane; a lane is drawn as a coloured underline at its own
depth, so nested and overlapping mentions stay legible. Pure functions, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Span:
    """A mention to draw: ``fragments`` are sorted ``[start, end)`` character offsets into the text."""

    key: str
    label: str
    colour: str
    fragments: tuple[tuple[int, int], ...]
    text: str = ""


@dataclass(frozen=True)
class Mark:
    """One mention's presence on one segment."""

    span: Span
    lane: int
    first: bool  # the mention's label is drawn on this segment (the first one of its first fragment)


@dataclass
class Segment:
    start: int
    end: int
    text: str
    marks: list[Mark] = field(default_factory=list)  # sorted by lane, highest first


def mention_text(text: str, fragments: Iterable[Sequence[int]]) -> str:
    """A mention's surface text; the fragments of a discontinuous mention are joined by an ellipsis."""
    return " … ".join(text[s:e] for s, e in fragments)


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
FALLBACK_COLOUR = "#888888"


def _clean(spans: Iterable[Span], length: int) -> list[Span]:
    """Drop fragments outside the text (a stale annotation must not break the page) and any colour
    that is not ``#rrggbb`` (it goes into a style attribute)."""
    out = []
    for sp in spans:
        frags = tuple(sorted((max(0, int(s)), min(length, int(e))) for s, e in sp.fragments))
        frags = tuple((s, e) for s, e in frags if e > s)
        if frags:
            colour = sp.colour if _HEX.match(sp.colour or "") else FALLBACK_COLOUR
            out.append(Span(key=sp.key, label=sp.label, colour=colour, fragments=frags, text=sp.text))
    return out


def _overlaps(a: Span, b: Span) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a.fragments for s2, e2 in b.fragments)


def assign_lanes(spans: Iterable[Span]) -> dict[str, int]:
    """Lane per span key: spans that share a character get different lanes.

    Shorter mentions are placed first so that, in a nest, the innermost mention sits closest to the
    text (lane 0) and the outer ones below it, as a reader expects.
    """
    order = sorted(spans, key=lambda sp: (sum(e - s for s, e in sp.fragments), sp.fragments[0][0], sp.key))
    lanes: dict[str, int] = {}
    placed: list[Span] = []
    for sp in order:
        taken = {lanes[o.key] for o in placed if _overlaps(sp, o)}
        lane = 0
        while lane in taken:
            lane += 1
        lanes[sp.key] = lane
        placed.append(sp)
    return lanes


def segment(text: str, spans: Iterable[Span]) -> tuple[list[Segment], int]:
    """Cut ``text`` at every fragment boundary; return the segments and the number of lanes used."""
    spans = _clean(spans, len(text))
    lanes = assign_lanes(spans)
    cuts = {0, len(text)}
    for sp in spans:
        for s, e in sp.fragments:
            cuts.update((s, e))
    bounds = sorted(cuts)
    segments = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        marks = [
            Mark(span=sp, lane=lanes[sp.key], first=(a == sp.fragments[0][0]))
            for sp in spans
            if any(s <= a and b <= e for s, e in sp.fragments)
        ]
        marks.sort(key=lambda m: -m.lane)
        segments.append(Segment(start=a, end=b, text=text[a:b], marks=marks))
    return segments, (max(lanes.values()) + 1 if lanes else 0)


def text_colour_for(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (``#rrggbb``)."""
    try:
        r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    except (ValueError, IndexError):
        return "#111"

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#111" if luminance > 0.35 else "#fff"


def render_text(text: str, spans: Iterable[Span], classes: Mapping[str, str] | None = None) -> SafeString:
    """The sentence as HTML: each segment is a nest of one ``<span class="m">`` per covering mention
    (outer = deeper lane), with the type label in front of a mention's first fragment and a tooltip
    naming every covering mention. Every piece of text is escaped. ``classes`` adds CSS classes per
    span key (e.g. the review page's agreement marks)."""
    classes = classes or {}
    segments, n_lanes = segment(text, spans)
    parts: list[str] = []
    for seg in segments:
        if not seg.marks:
            parts.append(format_html("{}", seg.text))
            continue
        opening = format_html_join(
            "", '<span class="m{}" data-m="{}" style="--c:{};--lane:{}">',
            ((" " + classes[m.span.key] if classes.get(m.span.key) else "", m.span.key, m.span.colour, m.lane)
             for m in seg.marks),
        )
        # The tooltip goes on the innermost element, which is what the pointer is over.
        title = "\n".join(f"{m.span.label}: {m.span.text}" for m in reversed(seg.marks))
        labels = format_html_join(
            "", '<span class="tag" style="--c:{};--fg:{}">{}</span>',
            ((m.span.colour, text_colour_for(m.span.colour), m.span.label)
             for m in reversed(seg.marks) if m.first),
        )
        parts.append(format_html('{}<span class="seg" title="{}">{}{}</span>{}', opening, title, labels,
                                 seg.text, mark_safe("</span>" * len(seg.marks))))
    return format_html('<span class="anno-text" style="--lanes:{}">{}</span>', n_lanes, mark_safe("".join(parts)))
