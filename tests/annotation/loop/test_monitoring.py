"""Suggestion outcomes and throughput against hand-worked cases."""

from datetime import UTC, datetime, timedelta

import pytest

from annotation.loop.monitoring import outcome_rates, suggestion_outcome, throughput

HUMAN = [("Condition", [[0, 8]]), ("Value", [[20, 25]])]


@pytest.mark.parametrize(("suggested", "expected"), [
    (("Condition", [[0, 8]]), "accepted"),
    (("Drug", [[0, 8]]), "edited"),  # same span, other type
    (("Condition", [[0, 5]]), "edited"),  # other boundaries
    (("Value", [[24, 30]]), "edited"),  # one character in common
    (("Value", [[25, 30]]), "rejected"),  # touching is not overlapping
    (("Condition", [[10, 12]]), "rejected"),
    (("Condition", [[0, 4], [5, 8]]), "edited"),  # discontinuous vs contiguous: not the same mention
])
def test_suggestion_outcome(suggested, expected):
    assert suggestion_outcome(suggested, HUMAN) == expected


def test_suggestion_rejected_when_nothing_annotated():
    assert suggestion_outcome(("Condition", [[0, 8]]), []) == "rejected"


def test_outcome_rates():
    r = outcome_rates({"accepted": 3, "edited": 1})
    assert (r["total"], r["accepted_pct"], r["edited_pct"], r["rejected_pct"]) == (4, 75.0, 25.0, 0.0)
    assert outcome_rates({})["accepted_pct"] is None


def test_throughput_by_hand():
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    # session 1: 9:00, 9:02, 9:06 -> 2 sentences in 6 min; a 2-hour break; session 2: 11:06, 11:10 -> 1 in 4 min
    times = [t0, t0 + timedelta(minutes=2), t0 + timedelta(minutes=6),
             t0 + timedelta(minutes=126), t0 + timedelta(minutes=130)]
    r = throughput(reversed(times))
    assert (r["sentences"], r["sessions"], r["timed_sentences"]) == (5, 2, 3)
    assert r["active_hours"] == pytest.approx(10 / 60, abs=1e-3)
    assert r["per_hour"] == 18.0  # 3 sentences in 10 minutes
    assert throughput([t0])["per_hour"] is None
    assert throughput([])["sessions"] == 0
