"""Old uploads and export zips are deleted; their rows (summary, manifest) stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from annotation.models import CorpusExport, ImportJob, JobStatus
from annotation.services.retention import stored_files_prune

# Transactional: files are deleted on commit.
prune_db = pytest.mark.django_db(transaction=True)


def _export(project, user, *, age_days: float, status=JobStatus.SUCCEEDED) -> CorpusExport:
    job = CorpusExport.objects.create(project=project, created_by=user, format="brat", status=status,
                                      manifest={"documents": 1})
    job.file.save("old.zip", ContentFile(b"PK zip bytes"))
    CorpusExport.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=age_days))
    job.refresh_from_db()
    return job


def _import(project, user, *, age_days: float, status=JobStatus.SUCCEEDED) -> ImportJob:
    job = ImportJob(project=project, created_by=user, format="text", status=status, summary={"documents": 3})
    job.upload.save("criteria.txt", ContentFile(b"Age >= 18\n"), save=False)
    job.save()
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=age_days))
    job.refresh_from_db()
    return job


@prune_db
def test_old_files_go_recent_and_running_ones_stay(project, members, settings):
    settings.TRIALMARK_FILE_RETENTION_DAYS = 30
    admin = members["admin"]
    old_export, new_export = _export(project, admin, age_days=31), _export(project, admin, age_days=2)
    old_import, new_import = _import(project, admin, age_days=40), _import(project, admin, age_days=1)
    failed_import = _import(project, admin, age_days=45, status=JobStatus.FAILED)
    running = _import(project, admin, age_days=60, status=JobStatus.RUNNING)
    paths = {j: Path(f.path) for j, f in ((old_export, old_export.file), (old_import, old_import.upload),
                                        (failed_import, failed_import.upload), (running, running.upload),
                                        (new_export, new_export.file), (new_import, new_import.upload))}

    assert stored_files_prune() == {"imports": 2, "exports": 1}

    for job in (old_export, old_import, failed_import):
        assert not paths[job].exists()
    for job in (new_export, new_import, running):
        assert paths[job].exists()
    old_export.refresh_from_db()
    old_import.refresh_from_db()
    assert not old_export.file and old_export.manifest == {"documents": 1}
    assert not old_import.upload and old_import.summary == {"documents": 3}
    # A second run finds nothing more to delete; 0 days keeps everything.
    assert stored_files_prune() == {"imports": 0, "exports": 0}
    assert stored_files_prune(older_than_days=0) == {"imports": 0, "exports": 0}
    assert paths[new_export].exists()


@prune_db
def test_a_pruned_export_is_listed_without_a_download(project, members, settings):
    settings.TRIALMARK_FILE_RETENTION_DAYS = 7
    job = _export(project, members["admin"], age_days=8)
    stored_files_prune()
    c = Client()
    c.force_login(members["admin"])
    page = c.get(reverse("export", args=[project.pk])).content.decode()
    assert "file deleted after retention period" in page
    assert c.get(reverse("export-download", args=[project.pk, job.pk])).status_code == 404


@pytest.mark.django_db
def test_daily_schedule_is_created_by_migrations():
    task = PeriodicTask.objects.get(name="trialmark-prune-stored-files")
    assert task.task == "worker.tasks.prune_stored_files_task" and task.enabled and task.crontab is not None
