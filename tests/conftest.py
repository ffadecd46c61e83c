"""Shared fixtures: corpora location, a project with one member per role, API clients."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotation.models import Role
from annotation.services import membership_set, project_create

from .factories import UserFactory
from .mlcore.helpers import make_tiny_encoder

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("TRIALMARK_CORPORA", REPO.parent / "shared" / "corpora"))

SCHEMA = {
    "entity_types": [
        {"name": "Condition", "hotkey": "c"},
        {"name": "Measurement", "hotkey": "m"},
        {"name": "Value", "hotkey": "v"},
        {"name": "Temporal", "hotkey": "t"},
        {"name": "Drug", "hotkey": "d"},
    ],
    "relation_types": [
        {"name": "Has_value", "allowed_heads": ["Measurement", "Condition"], "allowed_tails": ["Value"]},
        {"name": "Has_temporal", "allowed_tails": ["Temporal"]},
        {"name": "AND", "symmetric": True},
    ],
}


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA}")
    return CORPORA


@pytest.fixture
def members(db) -> dict[str, object]:
    """One user per role plus an outsider, all with password 'pw-for-tests'."""
    users: dict[str, object] = {role: UserFactory(username=f"{role}-user") for role in Role.values}
    users["outsider"] = UserFactory(username="outsider-user")
    return users


@pytest.fixture
def project(members):
    p = project_create(name="Trial criteria", created_by=members["admin"], schema=SCHEMA, allow_new_labels=False)
    for role in (Role.CURATOR, Role.ANNOTATOR, Role.VIEWER):
        membership_set(project=p, user=members[role], role=role)
    return p


@pytest.fixture
def client_for(members):
    """``client_for("annotator")`` → an APIClient authenticated as that member; ``None`` → anonymous."""

    def make(who: str | None) -> APIClient:
        client = APIClient()
        if who is not None:
            client.force_authenticate(members[who])
        return client

    return make


@pytest.fixture
def web(members):
    """``web("annotator")`` → a Django test client logged in as that member; ``None`` → anonymous."""

    def make(who: str | None) -> Client:
        client = Client()
        if who is not None:
            client.force_login(members[who])
        return client

    return make


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> str:
    """A tiny random BERT with the real MiniLM tokenizer: trains in seconds."""
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny_encoder"))
