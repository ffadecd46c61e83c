"""A real worker trains on request, promotes the first version and pre-annotates the project."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from annotation.models import ModelStatus, ModelVersion, Sentence, SentencePrediction

from .conftest import TINY_CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(predicate, what: str, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_requested_training_is_trained_promoted_and_preannotated(celery_worker, ml_project, client_for, settings):
    ml_project.architecture = "span.v1"
    ml_project.save()
    c = client_for("admin")
    url = reverse("api-model-list", kwargs={"project_id": ml_project.pk})
    # Seed the config the service copies into the version: a tiny, fast one.
    from annotation.services import model_versions as ms

    version = ms.training_request(project=ml_project, reason="test", config=TINY_CONFIG)
    again = c.post(url, {"reason": "second trigger"}, format="json")
    assert again.status_code == 202 and again.json()["id"] == version.pk  # absorbed, not queued twice

    def done():
        v = ModelVersion.objects.get(pk=version.pk)
        return v if v.status not in (ModelStatus.QUEUED, ModelStatus.TRAINING, ModelStatus.EVALUATING) else None

    v = _wait(done, "the training")
    assert v.status == ModelStatus.ACTIVE, v.error
    assert ModelVersion.objects.filter(project=ml_project).count() == 1
    _wait(lambda: SentencePrediction.objects.filter(model_version=v).count() == 3, "pre-annotation")
    listed = c.get(url).json()
    assert listed[0]["status"] == "active" and listed[0]["progress"]["percent"] == 100.0
    assert "entities" in listed[0]["metrics"]

    # A new sentence imported while a version is active gets pre-annotated by the worker.
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("NCT9_exc.txt", "Known allergy to penicillin\n")
        zf.writestr("NCT9_exc.ann", "")
    buf.seek(0)
    buf.name = "new.zip"
    r = c.post(reverse("api-import-create", kwargs={"project_id": ml_project.pk}),
               {"file": buf, "format": "brat"}, format="multipart")
    assert r.status_code == 202
    new = _wait(lambda: Sentence.objects.filter(project=ml_project, text__startswith="Known allergy").first(),
                "the import")
    _wait(lambda: SentencePrediction.objects.filter(model_version=v, sentence=new).exists(),
          "pre-annotation of the imported sentence")
    assert SentencePrediction.objects.filter(model_version=v).count() == 4
