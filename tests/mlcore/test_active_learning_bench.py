"""The pure helpers of bench/active_learning.py (the simulation itself is a benchmark, not a test)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "active_learning.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_active_learning", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop(spec.name, None)


def test_labels_to_reach_is_the_first_round_at_or_over_the_target(bench):
    counts = [100, 200, 300, 400]
    f1s = [10.0, 28.4, 28.5, 40.0]
    assert bench.labels_to_reach(counts, f1s, 28.5) == 300
    assert bench.labels_to_reach(counts, f1s, 28.0) == 200
    # a later dip does not matter, the first crossing counts
    assert bench.labels_to_reach([100, 200, 300], [30.0, 5.0, 40.0], 29.0) == 100
    assert bench.labels_to_reach(counts, f1s, 40.1) is None


def test_label_ratio_exact_bound_and_missing(bench):
    assert bench.label_ratio(200, 500, 600) == {"ratio": 0.4, "bound": "=", "goal_met": True}
    assert bench.label_ratio(300, 500, 600)["goal_met"] is False
    # random never got there within 600 labels: 200 / 600 is an upper bound, and under a half
    assert bench.label_ratio(200, None, 600) == {
        "ratio": pytest.approx(1 / 3),
        "bound": "<",
        "goal_met": True,
    }
    # an upper bound over a half decides nothing
    assert bench.label_ratio(400, None, 600)["goal_met"] is None
    assert bench.label_ratio(None, 500, 600) == {"ratio": None, "bound": None, "goal_met": False}
    assert bench.label_ratio(None, None, 600)["goal_met"] is None


def test_label_ratio_bounds_random_by_the_pool(bench):
    # random is short of the mark at 600 labels but would reach it at the 1,000-sentence pool
    r = bench.label_ratio(400, None, 600, pool=1000)
    assert r["ratio"] == pytest.approx(400 / 600) and r["at_least"] == pytest.approx(0.4)
    assert r["goal_met"] is None  # random's need anywhere in (600, 1000]: 0.4 .. 0.67
    assert bench.label_ratio(550, None, 600, pool=1000)["goal_met"] is False  # over half the pool
    assert bench.label_ratio(250, None, 600, pool=1000)["goal_met"] is True
    assert bench.label_ratio(300, 700, 900, pool=1000) == {"ratio": 3 / 7, "bound": "=", "goal_met": True}


def test_sample_by_group_keeps_trials_whole_and_is_seeded(bench):
    groups = [f"NCT{i // 5}" for i in range(50)]  # 10 trials of 5 sentences
    a = bench.sample_by_group(groups, 15, seed=3)
    assert a == bench.sample_by_group(groups, 15, seed=3)
    assert len(a) == 15 and a == sorted(a)
    assert len({groups[i] for i in a}) == 3
    assert bench.sample_by_group(groups, 0, seed=3) == list(range(50))
    assert bench.sample_by_group(groups, 12, seed=3) != bench.sample_by_group(groups, 12, seed=4)


def test_trial_of_chia_ids(bench):
    assert bench.trial_of("NCT00050349_exc:72") == "NCT00050349"
    assert bench.trial_of("plain") == "plain"


def test_plan_units_counts_pool_predictions_only_for_model_strategies(bench):
    train, pred = bench.plan_units(300, 100, 100, 2, ["random", "mnlp"], with_reference=True, n_dev=10)
    # reference 300; each strategy trains on 100, 200, 300
    assert train == 300 + 2 * 600
    # dev: reference + 3 rounds x 2 strategies; pool: mnlp predicts 200 then 100 unlabelled
    assert pred == 10 + 60 + 300


def test_epochs_for_raises_small_sets_to_the_minimum_steps(bench):
    assert bench.epochs_for(100, 3, 8, 150) == 12  # 13 steps an epoch: 12 epochs give 156 steps
    assert bench.epochs_for(1000, 3, 8, 150) == 3  # 125 steps an epoch: the epochs already suffice
    assert bench.epochs_for(100, 3, 8, 0) == 3
    train, _ = bench.plan_units(
        200,
        100,
        100,
        1,
        ["random"],
        with_reference=False,
        n_dev=0,
        epochs=lambda n: bench.epochs_for(n, 3, 8, 100),
    )
    assert train == 100 * 8 + 200 * 4
