"""The upload API queues an import that a real worker runs."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from django.urls import reverse

from annotation.models import Document, ImportJob

pytestmark = pytest.mark.django_db(transaction=True)


def _zip(ann: str) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("trial/NCT5_exc.txt", "Known allergy to penicillin\r\nPregnancy\r\n")
        zf.writestr("trial/NCT5_exc.ann", ann)
    buf.seek(0)
    buf.name = "trial.zip"
    return buf


def _wait(job_id: int, timeout: float = 60) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ImportJob.objects.get(pk=job_id)
        if job.status in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"import job {job_id} did not finish in {timeout} s (status {job.status})")


def test_upload_is_imported_by_the_worker(celery_worker, client_for, members):
    from annotation.services import project_create

    project = project_create(name="worker import", created_by=members["admin"])
    c = client_for("admin")
    r = c.post(reverse("api-import-create", kwargs={"project_id": project.pk}),
               {"file": _zip("T1\tCondition 17 27\tpenicillin\nT2\tCondition 29 38\tPregnancy\n"), "format": "brat"},
               format="multipart")
    assert r.status_code == 202
    job = _wait(r.json()["id"])
    assert job.status == "succeeded", job.problems
    assert job.summary["mentions"] == 2
    status = c.get(reverse("api-import-detail", kwargs={"project_id": project.pk, "job_id": job.pk})).json()
    assert status["status"] == "succeeded"
    assert Document.objects.get(project=project).sentences.count() == 2


def test_bad_upload_fails_on_the_worker_and_changes_nothing(celery_worker, client_for, members):
    from annotation.services import project_create

    project = project_create(name="worker import bad", created_by=members["admin"])
    r = client_for("admin").post(
        reverse("api-import-create", kwargs={"project_id": project.pk}),
        {"file": _zip("T1\tCondition 17 27\tpenicillin\nT2\tCondition 29 99\tPregnancy\n"), "format": "brat"},
        format="multipart",
    )
    job = _wait(r.json()["id"])
    assert job.status == "failed"
    assert any(p.startswith("trial/NCT5_exc.ann:2:") or p.startswith("NCT5_exc.ann:2:") for p in job.problems), \
        job.problems
    assert not Document.objects.filter(project=project).exists()
