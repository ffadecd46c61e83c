"""Fixtures for the format tests: the hand-made samples in data/ and the shared corpora (skipped if absent).
No database: these tests exercise pure Python."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parents[3]
CORPORA = Path(os.environ.get("TRIALMARK_CORPORA", REPO / ".." / "shared" / "corpora"))


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def brat_dir() -> Path:
    return DATA / "brat"


def corpus(name: str) -> Path:
    """Path of a shared corpus, or skip the test when it is not there."""
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"corpus {name} not found at {path}")
    return path
