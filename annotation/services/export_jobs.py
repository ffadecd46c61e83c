"""Exports made from the UI: recorded with their manifest, run by a worker, downloaded when done.

A large corpus takes longer to export than a web request may last, so the page only records the request
(``export_job_create``) and a worker writes the zip (``export_job_run``); the page lists every export of the
project with its manifest and a download link.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from annotation.errors import InvalidInput
from annotation.models import CorpusExport, JobStatus, ModelStatus, ModelVersion, Project, Split

from .corpus_export import EXPORT_FORMATS, corpus_export_zip

logger = logging.getLogger(__name__)

OPTION_KEYS = ("split", "gold_only", "discontinuous", "nested", "predictions")


def export_filename(*, project: Project, fmt: str, split: str | None) -> str:
    """The download name, e.g. ``Trial_criteria-brat-dev.zip`` (always a safe file name)."""
    return get_valid_filename(f"{project.name}-{fmt}{'-' + split if split else ''}.zip")


def _queue(export_id: int) -> None:
    from worker.tasks import corpus_export_task

    transaction.on_commit(lambda: corpus_export_task.delay(export_id))


def resolve_predictions(project: Project, value: Any) -> ModelVersion | None:
    """``None``/``""``: no predictions; ``"active"``: the active version; a number: that version."""
    if value in (None, "", False):
        return None
    qs = ModelVersion.objects.filter(project=project)
    if value == "active":
        version = qs.filter(status=ModelStatus.ACTIVE).first()
        if version is None:
            raise InvalidInput("The project has no active model, so there are no predictions to export.")
        return version
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"Unknown model version {value!r}.") from exc
    version = qs.filter(number=number).first()
    if version is None:
        raise InvalidInput(f"The project has no model version {number}.")
    return version


@transaction.atomic
def export_job_create(*, project: Project, user: AbstractBaseUser, fmt: str, options: dict[str, Any]) -> CorpusExport:
    """Record an export request and queue it for a worker."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}.")
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise InvalidInput(f"Unknown export options: {', '.join(sorted(unknown))}.")
    if options.get("split") not in (None, "", *Split.values):
        raise InvalidInput(f"Unknown split {options['split']!r}.")
    version = resolve_predictions(project, options.get("predictions"))
    clean = {k: options.get(k) for k in OPTION_KEYS if k in options}
    clean["predictions"] = version.number if version is not None else None
    job = CorpusExport(project=project, created_by=user if user.is_authenticated else None, format=fmt,
                       options=clean)
    job.full_clean()
    job.save()
    _queue(job.pk)
    return job


def export_job_run(*, export_id: int) -> CorpusExport:
    """Write one recorded export's zip into storage and record its manifest. Idempotent: only a pending
    export is run; any error marks it failed with the message."""
    with transaction.atomic():
        job = (CorpusExport.objects.select_for_update(of=("self",)).select_related("project", "created_by")
               .get(pk=export_id))
        if job.status != JobStatus.PENDING:
            return job
        job.status = JobStatus.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    zip_path: Path | None = None
    try:
        opts = dict(job.options)
        version = resolve_predictions(job.project, opts.pop("predictions", None))
        fd, name = tempfile.mkstemp(prefix="trialmark-export-", suffix=".zip")
        os.close(fd)
        zip_path, manifest = corpus_export_zip(project=job.project, fmt=job.format, zip_path=Path(name),
                                               predictions=version, user=job.created_by,
                                               **{k: v for k, v in opts.items() if v is not None})
        with zip_path.open("rb") as fh:
            job.file.save(export_filename(project=job.project, fmt=job.format, split=opts.get("split")),
                          File(fh), save=False)
        job.manifest = manifest
        job.size = zip_path.stat().st_size
        job.status = JobStatus.SUCCEEDED
    except Exception as exc:
        logger.exception("export %s failed", export_id)
        job.status = JobStatus.FAILED
        job.error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    finally:
        if zip_path is not None:
            zip_path.unlink(missing_ok=True)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "manifest", "file", "size", "error", "finished_at"])
    return job
