"""Writes. Every public function here is keyword-only, typed and atomic."""

from .alerts import alert_record_decision, alert_webhook_send, project_webhook_set
from .annotations import (
    annotation_save,
    annotation_submit,
    mention_input_validate,
    next_sentence_for,
    queue_refresh,
    queue_release,
    queue_reserve,
)
from .corpus_export import corpus_export, corpus_export_zip, zip_folder
from .corpus_import import corpus_import, corpus_import_path, import_job_create, import_job_run
from .export_jobs import export_filename, export_job_create, export_job_run
from .model_versions import (
    preannotate,
    queue_scores_compute,
    stale_trainings_fail,
    training_request,
    training_run,
    version_promote,
)
from .projects import membership_set, project_create, schema_apply, schema_as_dict
from .suggestions import suggestion_decide

__all__ = [
    "alert_record_decision",
    "alert_webhook_send",
    "export_filename",
    "project_webhook_set",
    "export_job_create",
    "export_job_run",
    "zip_folder",
    "annotation_save",
    "annotation_submit",
    "corpus_export",
    "corpus_export_zip",
    "corpus_import",
    "corpus_import_path",
    "import_job_create",
    "import_job_run",
    "membership_set",
    "mention_input_validate",
    "next_sentence_for",
    "preannotate",
    "project_create",
    "queue_refresh",
    "queue_release",
    "queue_reserve",
    "queue_scores_compute",
    "schema_apply",
    "schema_as_dict",
    "stale_trainings_fail",
    "suggestion_decide",
    "training_request",
    "training_run",
    "version_promote",
]
