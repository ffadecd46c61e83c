"""The corpus data model.

Every offset stored here is a character offset (Unicode code points, ``[start, end)``) into the
text of the row it belongs to: sentences into their document, mention fragments into their
sentence. Token indices never reach the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q

if TYPE_CHECKING:
    import enum

    class TextChoices(enum.StrEnum):
        """What type checkers need of ``models.TextChoices``: Django ships no type information (and the
        project does not use django-stubs), so mypy would take each member for its ``(value, label)`` tuple."""

        choices: ClassVar[list[tuple[str, str]]]
        labels: ClassVar[list[str]]
        values: ClassVar[list[str]]

        @property
        def label(self) -> str: ...
else:
    TextChoices = models.TextChoices


class Role(TextChoices):
    ADMIN = "admin", "Admin"
    CURATOR = "curator", "Curator"
    ANNOTATOR = "annotator", "Annotator"
    VIEWER = "viewer", "Viewer"


class QueueStrategy(TextChoices):
    SEQUENTIAL = "sequential", "Sequential"
    RANDOM = "random", "Random"
    LEAST_CONFIDENCE = "least_confidence", "Least confidence"
    MARGIN = "margin", "Margin"
    ENTROPY = "entropy", "Entropy"
    MNLP = "mnlp", "MNLP (length-normalised)"
    BALD = "bald", "BALD (MC dropout)"
    JOINT_DIVERSE = "joint_diverse", "Joint entity+relation uncertainty with diversity"


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    guideline = models.TextField(blank=True, help_text="Annotation guideline in Markdown.")
    guideline_version = models.PositiveIntegerField(default=1)
    # Schema policy for imports: unknown labels extend the schema, or the upload is refused.
    allow_new_labels = models.BooleanField(default=True)
    annotators_per_sentence = models.PositiveSmallIntegerField(default=1)
    annotators_see_others = models.BooleanField(default=False)
    queue_strategy = models.CharField(
        max_length=32, choices=QueueStrategy.choices, default=QueueStrategy.JOINT_DIVERSE
    )
    # Model settings: an empty encoder means the packaged default (MiniLM-L6).
    encoder = models.CharField(max_length=500, blank=True)
    architecture = models.CharField(max_length=100, default="span.v1")
    # Overrides of the architecture's and the training loop's defaults (mlcore.registry.check_config),
    # e.g. {"epochs": 5, "rel_context": "sentence"}; every training of the project uses them.
    model_config = models.JSONField(default=dict, blank=True)
    retrain_min_new_gold = models.PositiveIntegerField(default=50)
    promotion_tolerance = models.FloatField(default=0.01)
    split_ratios = models.JSONField(default=dict, blank=True, help_text='e.g. {"train": 0.8, "dev": 0.1, "test": 0.1}')
    alert_webhook_url = models.URLField(
        max_length=500, blank=True, validators=[URLValidator(schemes=["http", "https"])],
        help_text="Alerts (rejected candidates, drops of the active model's figures) are POSTed here as JSON.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(promotion_tolerance__gte=0) & Q(promotion_tolerance__lte=1),
                name="project_tolerance_0_1",
            ),
            models.CheckConstraint(condition=Q(annotators_per_sentence__gte=1), name="project_annotators_ge_1"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.project}: {self.role}"


class EntityType(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="entity_types")
    name = models.CharField(max_length=100)
    colour = models.CharField(max_length=7, default="#888888")
    hotkey = models.CharField(max_length=1, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="entitytype_unique_name"),
            models.UniqueConstraint(
                fields=["project", "hotkey"], condition=~Q(hotkey=""), name="entitytype_unique_hotkey"
            ),
            models.CheckConstraint(condition=Q(colour__regex=r"^#[0-9a-fA-F]{6}$"), name="entitytype_colour_hex"),
        ]

    def __str__(self) -> str:
        return self.name


class RelationType(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="relation_types")
    name = models.CharField(max_length=100)
    symmetric = models.BooleanField(default=False)
    colour = models.CharField(max_length=7, default="#555555")
    # Empty means any entity type may take that end.
    allowed_heads = models.ManyToManyField(EntityType, blank=True, related_name="+")
    allowed_tails = models.ManyToManyField(EntityType, blank=True, related_name="+")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="relationtype_unique_name")]

    def __str__(self) -> str:
        return self.name


class Split(TextChoices):
    TRAIN = "train", "Train"
    DEV = "dev", "Dev"
    TEST = "test", "Test"


class Section(TextChoices):
    NONE = "", "—"
    INCLUSION = "inclusion", "Inclusion"
    EXCLUSION = "exclusion", "Exclusion"


def split_group(group_key: str, external_id: str) -> str:
    """What a document's split is assigned by: its group key (the trial, so one trial never straddles
    splits), or the document itself when it has none."""
    return group_key or external_id


class Document(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    external_id = models.CharField(max_length=255)
    group_key = models.CharField(max_length=255, blank=True, help_text="e.g. the trial id; splits are per group")
    section = models.CharField(max_length=16, choices=Section.choices, blank=True)
    text = models.TextField(blank=True)
    newline = models.CharField(max_length=2, default="\n")
    metadata = models.JSONField(default=dict, blank=True)
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.TRAIN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["external_id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="document_unique_external_id")
        ]
        indexes = [models.Index(fields=["project", "group_key"]), models.Index(fields=["project", "split"])]

    def __str__(self) -> str:
        return self.external_id


class Sentence(models.Model):
    """The unit of annotation: a criterion, with its offsets into the document text."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sentences")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="sentences")
    position = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField()
    # A hint for the annotation queue, kept by services.queue_refresh: True once the sentence has gold or
    # the project's number of submitted annotations. The queue skips these without visiting their
    # annotations (an annotator deep into a big project otherwise walks every finished sentence on each
    # "next"); it still checks the annotations of what it returns, so a stale False costs only time, and a
    # stale True is corrected by the refresh the queue runs before it reports itself empty.
    queue_done = models.BooleanField(default=False)

    class Meta:
        ordering = ["document_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="sentence_unique_position"),
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="sentence_offsets_ordered"),
        ]
        indexes = [
            models.Index(fields=["project", "document", "position"]),
            models.Index(fields=["project", "id"], condition=Q(queue_done=False), name="sentence_queue_open"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}:{self.position}"


class QueueReservation(models.Model):
    """The sentence the queue last handed to a user in a project, held for them until ``expires_at``.

    While it is live the queue does not hand the sentence to more annotators than the project's
    ``annotators_per_sentence`` (reservations and submitted annotations together), so people working at
    the same time are not all given the same criterion. One row per user and project: asking for the
    next sentence moves the user's reservation, so skipping or leaving a sentence frees it, and a user
    who stops working frees theirs when it expires (``TRIALMARK_QUEUE_RESERVE_MINUTES``). Kept by
    ``services.queue_reserve``.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sentence = models.ForeignKey(Sentence, on_delete=models.CASCADE, related_name="reservations")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="queue_reservation_one_per_user"),
        ]
        indexes = [models.Index(fields=["sentence", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.sentence_id} for {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class AnnotationStatus(TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    GOLD = "gold", "Gold"


class Annotation(models.Model):
    """One annotator's version of a sentence, or (``annotator`` null) the curated gold version."""

    sentence = models.ForeignKey(Sentence, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="annotations"
    )
    status = models.CharField(max_length=16, choices=AnnotationStatus.choices, default=AnnotationStatus.DRAFT)
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every write (optimistic concurrency).")
    # The editor page that wrote the latest versions: its id, the sequence number of its newest state
    # saved, and the version its run of writes started from. A stale write from that same page carrying a
    # newer state supersedes its own earlier saves (a keepalive sent while its last autosave was in flight)
    # instead of answering 409; a write from anyone else resets them.
    client_id = models.CharField(max_length=64, blank=True, default="")
    client_seq = models.PositiveIntegerField(default=0)
    client_base_version = models.PositiveIntegerField(default=0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Not stored: set by annotation_save on the instance it returns, the state it just wrote in
    # selectors.annotation_state's shape (None on instances read from the database).
    written_state: dict[str, Any] | None = None

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sentence"], condition=Q(annotator__isnull=True), name="annotation_one_gold"
            ),
            models.UniqueConstraint(
                fields=["sentence", "annotator"],
                condition=Q(annotator__isnull=False),
                name="annotation_one_per_annotator",
            ),
            # The gold version has no annotator and always has status gold, and vice versa.
            models.CheckConstraint(
                condition=(Q(annotator__isnull=True) & Q(status="gold"))
                | (Q(annotator__isnull=False) & ~Q(status="gold")),
                name="annotation_gold_iff_no_annotator",
            ),
        ]
        indexes = [models.Index(fields=["annotator", "status"])]

    def __str__(self) -> str:
        who = "gold" if self.is_gold else f"user {self.annotator_id}"
        return f"annotation of sentence {self.sentence_id} ({who}, v{self.version})"

    @property
    def is_gold(self) -> bool:
        return self.annotator_id is None


class Mention(models.Model):
    """An entity mention: one or more ``[start, end)`` fragments of the sentence text."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="mentions")
    entity_type = models.ForeignKey(EntityType, on_delete=models.PROTECT, related_name="mentions")
    # Sorted list of [start, end) pairs; ``start``/``end`` cover them all (kept for indexing/ordering).
    fragments = models.JSONField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    source_id = models.CharField(max_length=32, blank=True, help_text="Id in the imported file (e.g. BRAT T12).")

    class Meta:
        ordering = ["start", "end", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="mention_nonempty"),
            models.UniqueConstraint(
                fields=["annotation", "entity_type", "fragments"], name="mention_no_duplicate"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type_id}@{self.fragments}"


class Relation(models.Model):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="relations")
    relation_type = models.ForeignKey(RelationType, on_delete=models.PROTECT, related_name="relations")
    head = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="+")
    tail = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="+")
    source_id = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "relation_type", "head", "tail"], name="relation_no_duplicate"
            ),
        ]
        # The "both ends in this annotation" rule spans tables; migration 0002 enforces it with triggers.
        # A relation from a mention to itself is allowed: gold corpora contain them (Chia's
        # NCT02219880_inc R52), and an import must not lose them.

    def __str__(self) -> str:
        return f"{self.relation_type_id}({self.head_id}, {self.tail_id})"


class MentionGroup(models.Model):
    """An equivalence group of mentions, such as Chia's ``*\tOR T1 T2`` lines."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="groups")
    group_type = models.CharField(max_length=32, default="OR")
    members = models.ManyToManyField(Mention, related_name="groups")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.group_type} group {self.pk}"


class JobStatus(TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """A corpus upload, processed by a worker; all-or-nothing."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    format = models.CharField(max_length=16)
    options = models.JSONField(default=dict, blank=True)
    upload = models.FileField(upload_to="imports/%Y/%m/")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    problems = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.format}, {self.status})"


class ModelStatus(TextChoices):
    QUEUED = "queued", "Queued"
    TRAINING = "training", "Training"
    EVALUATING = "evaluating", "Evaluating"
    ACTIVE = "active", "Active"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    RETIRED = "retired", "Retired"


# Statuses of a version that still holds the project's one training slot.
RUNNING_MODEL_STATUSES = (ModelStatus.QUEUED, ModelStatus.TRAINING, ModelStatus.EVALUATING)


class ModelVersion(models.Model):
    """One training run of a project's model: config, progress, artifact and frozen-split metrics.

    The partial unique constraints are what keep a project to one active model and one training at a
    time, even when two triggers race.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    number = models.PositiveIntegerField()
    architecture = models.CharField(max_length=100)
    encoder = models.CharField(max_length=500, blank=True)
    config = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=ModelStatus.choices, default=ModelStatus.QUEUED)
    reason = models.CharField(max_length=200, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    comparison = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    trained_on_gold_count = models.PositiveIntegerField(default=0)
    # The queue strategy its predictions' scores were computed with (re-ranked when the project changes it).
    ranked_with = models.CharField(max_length=32, blank=True)
    train_fingerprint = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["project_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="modelversion_unique_number"),
            models.UniqueConstraint(
                fields=["project"], condition=Q(status="active"), name="modelversion_one_active"
            ),
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["queued", "training", "evaluating"]),
                name="modelversion_one_running",
            ),
        ]
        indexes = [models.Index(fields=["project", "status"])]

    def __str__(self) -> str:
        return f"{self.project_id} v{self.number} ({self.status})"


class SentencePrediction(models.Model):
    """A model version's prediction for one sentence, in sentence-relative character offsets.

    ``mentions``: ``[{"type", "fragments": [[s, e]], "score"}]``; ``relations``: ``[{"type", "head",
    "tail", "score"}]`` with head/tail indices into ``mentions``. ``score`` is the queue score: higher
    comes first.
    """

    sentence = models.ForeignKey(Sentence, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="predictions")
    mentions = models.JSONField(default=list, blank=True)
    relations = models.JSONField(default=list, blank=True)
    uncertainty = models.JSONField(default=dict, blank=True)
    embedding = models.JSONField(null=True, blank=True)
    score = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sentence", "model_version"], name="prediction_unique"),
        ]
        indexes = [models.Index(fields=["model_version", "-score", "sentence"], name="prediction_queue_idx")]

    def __str__(self) -> str:
        return f"prediction of {self.sentence_id} by {self.model_version_id}"


class AlertKind(TextChoices):
    REJECTED = "rejected_candidate", "Rejected candidate"
    DROP = "active_drop", "Active model's figures dropped"


class WebhookStatus(TextChoices):
    NONE = "", "No webhook"
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class MonitoringAlert(models.Model):
    """Something a team lead should see: a rejected candidate, or an active model worse than its predecessor."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="alerts")
    message = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    webhook_status = models.CharField(max_length=16, choices=WebhookStatus.choices, blank=True)
    webhook_response = models.CharField(max_length=500, blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One alert of a kind per version: a re-run of the decision does not alert twice.
            models.UniqueConstraint(fields=["model_version", "kind"], name="alert_once_per_version_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class CorpusExport(models.Model):
    """One export made from the UI, run by a worker; ``manifest`` is what was written (counts, schema,
    guideline and model version, who and when)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    format = models.CharField(max_length=16)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    manifest = models.JSONField(default=dict, blank=True)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.format}, {self.status})"

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class SuggestionKind(TextChoices):
    MENTION = "mention", "Mention"
    RELATION = "relation", "Relation"


class SuggestionOutcome(TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class SuggestionDecision(models.Model):
    """One user's latest decision on one item of a model version's prediction for a sentence.

    ``index`` points into ``SentencePrediction.mentions`` (or ``relations``) of that version; ``item`` is a
    copy of the predicted item as it was shown (type, fragments or head/tail, confidence), so the record
    survives a re-prediction. Deciding again replaces the earlier decision.
    """

    sentence = models.ForeignKey(Sentence, on_delete=models.CASCADE, related_name="suggestion_decisions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="suggestion_decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="suggestion_decisions")
    kind = models.CharField(max_length=16, choices=SuggestionKind.choices)
    index = models.PositiveIntegerField()
    label = models.CharField(max_length=100, help_text="The suggested entity or relation type.")
    item = models.JSONField(default=dict)
    decision = models.CharField(max_length=16, choices=SuggestionOutcome.choices)
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sentence_id", "kind", "index"]
        constraints = [
            models.UniqueConstraint(fields=["sentence", "model_version", "user", "kind", "index"],
                                    name="suggestion_decision_once"),
        ]
        indexes = [models.Index(fields=["model_version", "decision"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.decision} {self.kind} {self.index} of {self.sentence_id} (v{self.model_version_id})"
