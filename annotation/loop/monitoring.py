"""Dashboard figures over plain data (no Django): suggestion outcomes and annotator throughput.

**Suggestion outcome**, inferred where the annotation page recorded no decision (``SuggestionDecision``; the
dashboard counts recorded decisions first, see ``annotation.loop.dashboard.suggestion_rates``):
a mention the model suggested for a sentence is compared with each human version of that sentence (gold,
and every submitted annotation) that was last saved after the suggestion was made:

- *accepted*: the human version has a mention of the same type with exactly the same fragments;
- *edited*: not accepted, but a human mention overlaps it (at least one character in common): the suggestion
  was kept with another type or other boundaries;
- *rejected*: no human mention overlaps it.

Each (suggestion, human version) pair counts once, under the suggested type.

**Throughput**: an annotator's submitted sentences ordered by when they were last saved; the time between two
consecutive ones counts as work on the second when it is at most ``max_gap_s`` (default 30 minutes), else it
is a break and the sentence after it starts a new session. The first sentence of a session has no measured
start, so it is left out of the rate: sentences per hour = counted sentences / counted hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

ACCEPTED, EDITED, REJECTED = "accepted", "edited", "rejected"
OUTCOMES = (ACCEPTED, EDITED, REJECTED)

MentionLike = tuple[str, Sequence[Sequence[int]]]


def _frags(fragments: Iterable[Sequence[int]]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((int(s), int(e)) for s, e in fragments))


def _overlaps(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)


def suggestion_outcome(suggested: MentionLike, human: Iterable[MentionLike]) -> str:
    """``accepted``, ``edited`` or ``rejected`` (see the module docstring)."""
    s_type, s_frags = suggested[0], _frags(suggested[1])
    outcome = REJECTED
    for h_type, h_frags in human:
        hf = _frags(h_frags)
        if h_type == s_type and hf == s_frags:
            return ACCEPTED
        if _overlaps(s_frags, hf):
            outcome = EDITED
    return outcome


def outcome_rates(counts: dict[str, int]) -> dict[str, Any]:
    """Counts of the three outcomes with their shares in percent (None when there are none)."""
    total = sum(counts.get(o, 0) for o in OUTCOMES)
    out: dict[str, Any] = {o: counts.get(o, 0) for o in OUTCOMES}
    out["total"] = total
    for o in OUTCOMES:
        out[f"{o}_pct"] = round(100.0 * out[o] / total, 2) if total else None
    return out


def throughput(timestamps: Iterable[datetime], *, max_gap_s: float = 1800.0) -> dict[str, Any]:
    """Sentences per hour from submission times (see the module docstring)."""
    ts = sorted(timestamps)
    counted = 0
    seconds = 0.0
    sessions = 1 if ts else 0
    for prev, cur in zip(ts, ts[1:], strict=False):
        gap = (cur - prev).total_seconds()
        if gap <= max_gap_s:
            counted += 1
            seconds += gap
        else:
            sessions += 1
    hours = seconds / 3600.0
    return {
        "sentences": len(ts), "sessions": sessions, "timed_sentences": counted, "active_hours": round(hours, 3),
        "per_hour": round(counted / hours, 2) if hours > 0 else None,
    }
