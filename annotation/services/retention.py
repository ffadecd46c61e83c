"""Stored-file retention: finished imports' uploads and UI exports' zips are deleted after a while.

The database rows stay (an import's summary and problems, an export's manifest), so the history of
who imported or exported what survives; only the bytes on disk go. ``TRIALMARK_FILE_RETENTION_DAYS``
sets the age (0 keeps files forever); a daily beat entry runs the prune (editable in the admin).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.models import CorpusExport, ImportJob, JobStatus

logger = logging.getLogger(__name__)

FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


def stored_files_prune(*, older_than_days: int | None = None) -> dict[str, int]:
    """Delete the files of imports and exports that finished more than ``older_than_days`` ago.

    Returns how many files of each kind were deleted. Rows are kept with an empty file field; a file
    already missing on disk is cleared all the same. Running it twice deletes nothing more.
    """
    days = settings.TRIALMARK_FILE_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return {"imports": 0, "exports": 0}
    cutoff = timezone.now() - timedelta(days=days)
    counts = {"imports": 0, "exports": 0}
    for key, model, field in (("imports", ImportJob, "upload"), ("exports", CorpusExport, "file")):
        rows = model.objects.filter(status__in=FINISHED, finished_at__lt=cutoff).exclude(**{field: ""})
        for row in rows.iterator():
            stored = getattr(row, field)
            name = stored.name
            with transaction.atomic():
                model.objects.filter(pk=row.pk).update(**{field: ""})
                # The file goes only once the row no longer points at it.
                transaction.on_commit(lambda s=stored.storage, n=name: s.delete(n))
            counts[key] += 1
            logger.info("Retention: deleted %s of %s %s (finished %s)", name, model.__name__, row.pk, row.finished_at)
    return counts
