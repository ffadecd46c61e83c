"""The demo corpus and ``manage.py load_demo``: what the README's start command puts in front of a new user."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from annotation import services
from annotation.models import Annotation, Document, Membership, Mention, MentionGroup, Project, Relation, Role
from annotation.services import model_versions as ms

DEMO = Path(__file__).resolve().parents[2] / "annotation" / "demo"
PROJECT = "Demo: eligibility criteria"


def _counts(project: Project) -> dict[str, int]:
    anns = Annotation.objects.filter(sentence__project=project)
    return {
        "documents": Document.objects.filter(project=project).count(),
        "sentences": project.sentences.count(),
        "gold": anns.filter(annotator__isnull=True).count(),
        "mentions": Mention.objects.filter(annotation__in=anns).count(),
        "relations": Relation.objects.filter(annotation__in=anns).count(),
        "groups": MentionGroup.objects.filter(annotation__in=anns).count(),
        "members": Membership.objects.filter(project=project).count(),
    }


def _load(**kw) -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out, **kw)
    return out.getvalue()


def test_corpus_files_are_what_the_script_builds():
    proc = subprocess.run([sys.executable, str(DEMO / "build_demo.py"), "--check"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "annotated_sentences=90" in proc.stdout and "sentences=236" in proc.stdout


@pytest.mark.django_db
def test_load_demo_builds_the_project_once_and_its_logins_work():
    first = _load(password="demo-pw")
    project = Project.objects.get(name=PROJECT)
    counts = _counts(project)
    assert counts == {"documents": 26, "sentences": 236, "gold": 90, "mentions": 351, "relations": 212,
                      "groups": 44, "members": 4}
    assert "Imported 26 documents" in first
    assert project.entity_types.count() == 15 and project.relation_types.count() == 10
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {"demo": Role.ADMIN, "curator": Role.CURATOR, "annotator1": Role.ANNOTATOR,
                     "annotator2": Role.ANNOTATOR}
    for name in roles:
        assert authenticate(username=name, password="demo-pw") is not None, name

    # Idempotent: a second run (even with another password) adds and changes nothing.
    second = _load(password="other")
    assert "already loaded" in second
    assert Project.objects.filter(name=PROJECT).count() == 1 and _counts(project) == counts
    assert authenticate(username="demo", password="demo-pw") is not None

    # The queue starts with sentences that still need work.
    annotator = Membership.objects.get(project=project, user__username="annotator1").user
    first_up = services.next_sentence_for(project=project, user=annotator)
    assert first_up is not None and not first_up.annotations.filter(annotator__isnull=True).exists()


@pytest.mark.django_db
def test_demo_models_have_a_frozen_split_to_be_judged_on():
    _load()
    project = Project.objects.get(name=PROJECT)
    frozen = ms.gold_examples(project=project, splits=ms.FROZEN_SPLITS)
    train, selection = ms.train_and_selection(project=project)
    # one annotated trial in dev (18 criteria) to evaluate on; the four annotated train trials to learn from
    assert len(frozen) == 18 and sum(len(e.relations) for e in frozen) > 0
    assert (len(train), len(selection)) == (72, 0)
    assert project.retrain_min_new_gold <= len(train) + len(frozen)  # the beat trains the demo right away
