"""Fixtures for mlcore tests."""

from __future__ import annotations

import pytest

from mlcore.types import Example, RelationTypeSpec, Schema

from .helpers import toy_examples_list


@pytest.fixture(scope="session")
def toy_schema() -> Schema:
    return Schema(
        entity_types=["Condition", "Drug", "Value"],
        relation_types=[
            RelationTypeSpec("Has_value", allowed_heads=["Condition", "Drug"], allowed_tails=["Value"]),
            RelationTypeSpec("AND", symmetric=True),
        ],
    )


@pytest.fixture()
def toy_examples() -> list[Example]:
    return toy_examples_list()
