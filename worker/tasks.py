"""Celery tasks: thin wrappers that load by id and call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from annotation.models import Project
from annotation.services import alert_webhook_send, export_job_run, import_job_run
from annotation.services import model_versions as model_services
from annotation.services.alerts import WebhookTransientError
from annotation.services.retention import stored_files_prune

# A training with no heartbeat for this long is taken as dead (worker killed, machine lost).
STALE_TRAINING_S = 30 * 60


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),  # a locked SQLite file or a dropped connection: transient
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=3600,
    time_limit=3700,
)
def import_corpus_task(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    """Run one queued import job (idempotent: a finished job is left alone)."""
    job = import_job_run(job_id=job_id)
    if job.status == "succeeded":
        active = model_services.active_version(project=job.project)
        if active is not None:
            preannotate_task.delay(active.pk)
    return job.status


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),  # only reached before the run claims the version
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 300,
    acks_late=True,
)
def train_model_task(self, version_id: int) -> str:  # type: ignore[no-untyped-def]
    """Train, evaluate and (guardedly) promote one queued model version. Routed to the ``gpu`` queue.

    Idempotent: a version that is no longer queued is left alone, so a redelivery does not retrain.
    """
    return model_services.training_run(version_id=version_id).status


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 300,
)
def preannotate_task(self, version_id: int) -> int:  # type: ignore[no-untyped-def]
    """Pre-annotate the project's unlabelled sentences with an active version and re-rank its queue."""
    return model_services.preannotate(version_id=version_id)


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=360,
)
def check_projects_task(self) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Beat: fail silent trainings, request a training for every project with enough new gold, and
    catch up pre-annotation (unpredicted sentences, or a changed queue strategy)."""
    stale = model_services.stale_trainings_fail(max_silence_s=STALE_TRAINING_S)
    requested = preannotations = 0
    for project in Project.objects.all():
        if model_services.retrain_due(project=project):
            model_services.training_request(project=project, reason="new gold")
            requested += 1
        active = model_services.preannotation_due(project=project)
        if active is not None:
            preannotate_task.delay(active.pk)
            preannotations += 1
    return {"stale_failed": stale, "requested": requested, "preannotations": preannotations}


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=3600,
    time_limit=3700,
)
def corpus_export_task(self, export_id: int) -> str:  # type: ignore[no-untyped-def]
    """Write one export requested from the UI (idempotent: only a pending export runs)."""
    return export_job_run(export_id=export_id).status


@shared_task(
    bind=True,
    autoretry_for=(WebhookTransientError, OperationalError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def alert_webhook_task(self, alert_id: int) -> str:  # type: ignore[no-untyped-def]
    """POST one monitoring alert to its project's webhook (retried while the endpoint is unreachable)."""
    return alert_webhook_send(alert_id=alert_id)


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=15 * 60,
    time_limit=20 * 60,
)
def prune_stored_files_task(self) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Beat (daily): delete old imports' uploads and exports' zips; their rows and manifests stay."""
    return stored_files_prune()
