"""Model versions: training requests, training runs, guarded promotion, pre-annotation and queue scores.

Only this module (and the worker tasks that call it) touches ``mlcore``'s training and inference.
A training run is long, so it is not one transaction: each state change is its own atomic step, and
promotion (the only step that changes which model is active) happens in one transaction at the end,
so a failure anywhere before it leaves the active version as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef
from django.utils import timezone

from annotation.errors import InvalidInput
from annotation.loop import queue
from annotation.models import (
    RUNNING_MODEL_STATUSES,
    Annotation,
    EntityType,
    Mention,
    ModelStatus,
    ModelVersion,
    Project,
    QueueStrategy,
    Relation,
    RelationType,
    Sentence,
    SentencePrediction,
    split_group,
)
from annotation.services.alerts import alert_record_decision

logger = logging.getLogger(__name__)

PROGRESS_MIN_INTERVAL_S = 1.0
# Split values (``annotation.models.Split``): the model learns from train only; dev and test are the
# frozen evaluation split, which nothing of a version is fitted on. The epoch kept, the calibration
# temperatures and the tuned thresholds are chosen on a selection slice of train instead: whole
# trials (``selection_groups``), left out of that version's training, so the frozen figures the
# promotion guard compares are not scored on the data the model was tuned to.
TRAIN_SPLITS: tuple[str, ...] = ("train",)
FROZEN_SPLITS: tuple[str, ...] = ("dev", "test")
SELECTION_FRACTION = 0.1
BALD_MC_SAMPLES = 8


def _queue_training(version_id: int) -> None:
    from worker.tasks import train_model_task

    transaction.on_commit(lambda: train_model_task.delay(version_id))


def _queue_preannotation(version_id: int) -> None:
    from worker.tasks import preannotate_task

    transaction.on_commit(lambda: preannotate_task.delay(version_id))


def active_version(*, project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, status=ModelStatus.ACTIVE).first()


def gold_sentence_count(*, project: Project) -> int:
    return Annotation.objects.filter(sentence__project=project, annotator__isnull=True).count()


def training_request(
    *, project: Project, user: AbstractBaseUser | None = None, reason: str = "", config: dict[str, Any] | None = None,
) -> ModelVersion:
    """Queue a training of ``project``'s model, or return the one already queued or running.

    The version trains with the project's ``model_config`` updated by ``config`` (this training only),
    over ``min_steps`` from ``TRIALMARK_MIN_TRAIN_STEPS`` (so a small gold set gets enough epochs); the
    merged settings are checked first (``InvalidInput`` when the architecture would refuse them) and
    stored on the version.

    The partial unique constraint ``modelversion_one_running`` is the arbiter: of two racing requests,
    one inserts and the other gets an ``IntegrityError`` and returns the winner's version.
    """
    running = ModelVersion.objects.filter(project=project, status__in=RUNNING_MODEL_STATUSES).first()
    if running is not None:
        return running
    chosen = {**(project.model_config or {}), **(config or {})}
    if chosen:
        from annotation.services.project_settings import model_config_check

        model_config_check(architecture=project.architecture, config=chosen)
    merged = {"min_steps": settings.TRIALMARK_MIN_TRAIN_STEPS, **chosen}
    try:
        with transaction.atomic():
            number = (ModelVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
            version = ModelVersion(
                project=project, number=number, architecture=project.architecture,
                encoder=project.encoder or settings.TRIALMARK_ENCODER, config=merged,
                reason=reason[:200], requested_by=user if user is not None and user.is_authenticated else None,
            )
            # Uniqueness is left to the database: a Python-side check would race.
            version.full_clean(validate_unique=False, validate_constraints=False)
            version.save()
    except IntegrityError:
        running = ModelVersion.objects.filter(project=project, status__in=RUNNING_MODEL_STATUSES).first()
        if running is None:
            raise
        return running
    _queue_training(version.pk)
    return version


# ---- building mlcore inputs ----------------------------------------------------------------------------


def project_schema(*, project: Project) -> Any:
    """The project's label schema as an ``mlcore.Schema``."""
    from mlcore import RelationTypeSpec, Schema

    rels = []
    for rt in RelationType.objects.filter(project=project).prefetch_related("allowed_heads", "allowed_tails"):
        heads = [e.name for e in rt.allowed_heads.all()] or None
        tails = [e.name for e in rt.allowed_tails.all()] or None
        rels.append(RelationTypeSpec(name=rt.name, symmetric=rt.symmetric, allowed_heads=heads, allowed_tails=tails))
    return Schema(entity_types=list(EntityType.objects.filter(project=project).values_list("name", flat=True)),
                  relation_types=rels)


def gold_examples(*, project: Project, splits: tuple[str, ...]) -> list[Any]:
    """Gold annotations of the sentences in documents of ``splits`` as ``mlcore.Example``s (see
    ``gold_examples_grouped``)."""
    return [example for _, example in gold_examples_grouped(project=project, splits=splits)]


def gold_examples_grouped(*, project: Project, splits: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Gold annotations of the sentences in documents of ``splits`` as (split group, ``mlcore.Example``),
    in sentence order; the group is what splits are assigned by (``split_group``: the trial).

    A discontinuous mention becomes the span covering its fragments (the models predict contiguous
    spans); two mentions that collapse onto the same span and type are merged.
    """
    from mlcore import Example
    from mlcore import Mention as MMention
    from mlcore import Relation as MRelation

    golds = (Annotation.objects.filter(sentence__project=project, annotator__isnull=True,
                                       sentence__document__split__in=splits)
             .select_related("sentence").order_by("sentence_id")
             .annotate(doc_group=F("sentence__document__group_key"), doc_id=F("sentence__document__external_id")))
    mentions_by: dict[int, list[Mention]] = {}
    for m in Mention.objects.filter(annotation__in=golds).select_related("entity_type").order_by("start", "end", "id"):
        mentions_by.setdefault(m.annotation_id, []).append(m)
    relations_by: dict[int, list[Relation]] = {}
    for r in Relation.objects.filter(annotation__in=golds).select_related("relation_type").order_by("id"):
        relations_by.setdefault(r.annotation_id, []).append(r)
    out = []
    for ann in golds:
        index: dict[tuple[int, int, str], int] = {}
        by_id: dict[int, int] = {}
        mentions: list[Any] = []
        for m in mentions_by.get(ann.pk, []):
            key = (m.start, m.end, m.entity_type.name)
            if key not in index:
                index[key] = len(mentions)
                mentions.append(MMention(m.start, m.end, m.entity_type.name))
            by_id[m.pk] = index[key]
        rel_keys: set[tuple[int, int, str]] = set()
        relations = []
        for r in relations_by.get(ann.pk, []):
            k = (by_id[r.head_id], by_id[r.tail_id], r.relation_type.name)
            if k not in rel_keys:
                rel_keys.add(k)
                relations.append(MRelation(*k))
        out.append((split_group(ann.doc_group, ann.doc_id),
                    Example(text=ann.sentence.text, mentions=mentions, relations=relations, id=str(ann.sentence_id))))
    return out


def selection_groups(groups: set[str], fraction: float = SELECTION_FRACTION) -> set[str]:
    """The trials (document group keys) of the train split held out of training for model selection:
    ``fraction`` of them, rounded half up, picked by a salted hash of the key (stable, and independent
    of the hash that assigned the split). None while that rounds to zero (under five trials at a tenth):
    a small project learns from all its trials, and its versions keep their last epoch and configured
    thresholds."""

    def rank(g: str) -> tuple[bytes, str]:
        return hashlib.sha256(f"selection:{g}".encode()).digest(), g

    n = int(fraction * len(groups) + 0.5)
    return set(sorted(groups, key=rank)[:n])


def train_and_selection(*, project: Project) -> tuple[list[Any], list[Any]]:
    """The train split's gold as (examples to train on, examples to select the model on), the two
    disjoint by trial (``selection_groups``)."""
    grouped = gold_examples_grouped(project=project, splits=TRAIN_SPLITS)
    held = selection_groups({group for group, _ in grouped})
    return [e for g, e in grouped if g not in held], [e for g, e in grouped if g in held]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _f1(report: dict[str, Any], part: str) -> float:
    return float(((report or {}).get(part) or {}).get("micro", {}).get("f1", 0.0))


def version_compare(*, candidate: dict[str, Any], active: dict[str, Any] | None, tolerance: float) -> dict[str, Any]:
    """Compare two evaluation reports; ``promote`` is true when neither F1 drops by more than ``tolerance``."""
    cand = {"entity_f1": _f1(candidate, "entities"), "relation_f1": _f1(candidate, "relations")}
    unchecked = (candidate or {}).get("n_examples") == 0
    if unchecked or active is None:
        return {"candidate": cand, "active": None, "tolerance": tolerance, "promote": True,
                "reason": "no gold in the frozen split (dev, test) to evaluate on: promoted unchecked" if unchecked
                else "no active version"}
    act = {"entity_f1": _f1(active, "entities"), "relation_f1": _f1(active, "relations")}
    delta = {k: cand[k] - act[k] for k in cand}
    worse = [k for k, d in delta.items() if d < -tolerance - 1e-12]
    return {
        "candidate": cand, "active": act, "delta": delta, "tolerance": tolerance, "promote": not worse,
        "reason": (f"{', '.join(worse)} worse than the active version by more than {tolerance}" if worse
                   else "not worse than the active version beyond the tolerance"),
    }


# ---- training ---------------------------------------------------------------------------------------


def _progress_writer(version_id: int, extra: Callable[[dict], None] | None) -> Callable[[dict], None]:
    last = [0.0]

    def write(p: dict) -> None:
        if extra is not None:
            extra(p)
        now = time.monotonic()
        final = p.get("phase") != "train" or p.get("step") == p.get("total_steps")
        if not final and now - last[0] < PROGRESS_MIN_INTERVAL_S:
            return
        last[0] = now
        step, total = p.get("step"), p.get("total_steps")
        epochs = p.get("epochs") or 1
        if step is not None and total:
            percent = 100.0 * ((p.get("epoch", 1) - 1) + step / total) / epochs
        else:
            percent = 100.0 * (p.get("epoch") or 0) / epochs
        progress = {
            "phase": p.get("phase"), "epoch": p.get("epoch"), "epochs": p.get("epochs"), "step": step,
            "total_steps": total, "loss": p.get("loss"), "percent": round(min(percent, 100.0), 1),
            "eta_s": p.get("eta_s"),
        }
        ModelVersion.objects.filter(pk=version_id).update(progress=progress, heartbeat_at=timezone.now())

    return write


def _claim(version_id: int) -> ModelVersion | None:
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().select_related("project").get(pk=version_id)
        if version.status != ModelStatus.QUEUED:
            return None  # already run, running elsewhere, or failed: a redelivered task does nothing
        version.status = ModelStatus.TRAINING
        version.started_at = version.heartbeat_at = timezone.now()
        # Recorded at the start, so a failed run also counts as "tried on this much gold" and the beat
        # does not retrain a broken configuration every five minutes.
        version.trained_on_gold_count = gold_sentence_count(project=version.project)
        version.save(update_fields=["status", "started_at", "heartbeat_at", "trained_on_gold_count"])
    return version


def training_run(
    *, version_id: int, progress: Callable[[dict], None] | None = None, device: str | None = None,
) -> ModelVersion:
    """Train a queued version on the train split's gold (less its selection trials), evaluate it on
    the frozen dev+test gold, and promote it if it is not worse than the active version by more than
    the project's tolerance.

    Idempotent: a version that is no longer queued is returned unchanged. Any exception marks the
    version failed (with the error) and leaves the active version alone.
    """
    version = _claim(version_id)
    if version is None:
        return ModelVersion.objects.get(pk=version_id)
    project = version.project
    try:
        import mlcore

        schema = project_schema(project=project)
        train, selection = train_and_selection(project=project)
        frozen = gold_examples(project=project, splits=FROZEN_SPLITS)
        if not train:
            raise InvalidInput("No gold sentences in the train split: nothing to train on.")
        out_dir = Path(settings.TRIALMARK_MODEL_ROOT) / str(project.pk) / str(version.number)
        train_report = mlcore.train_model(
            train, selection, schema, out_dir, arch=version.architecture, encoder=version.encoder or None,
            config=version.config or None, progress=_progress_writer(version.pk, progress), device=device,
        )
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelStatus.EVALUATING, heartbeat_at=timezone.now())
        extractor = mlcore.load_model(out_dir, device=device)
        report = extractor.evaluate(frozen) if frozen else {}
        report["n_examples"] = len(frozen)
        report["n_train"], report["n_selection"] = len(train), len(selection)
        report["train_history"] = train_report.get("history", [])
        fingerprint = (out_dir / "fingerprint.json").read_text(encoding="utf-8")
        version.metrics = report
        version.artifact_path = str(out_dir)
        version.artifact_sha256 = _sha256(out_dir / "model.safetensors")
        version.train_fingerprint = json.loads(fingerprint)
        version.save(update_fields=["metrics", "artifact_path", "artifact_sha256", "train_fingerprint"])
        return _decide(version_id=version.pk)
    except Exception as exc:
        logger.exception("training of model version %s failed", version.pk)
        ModelVersion.objects.filter(pk=version.pk, status__in=RUNNING_MODEL_STATUSES).update(
            status=ModelStatus.FAILED, finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=8)}"[:20000],
        )
        version.refresh_from_db()
        return version


@transaction.atomic
def _decide(*, version_id: int) -> ModelVersion:
    version = ModelVersion.objects.select_for_update().select_related("project").get(pk=version_id)
    if version.status != ModelStatus.EVALUATING:
        return version  # failed by the stale-training sweep meanwhile: leave it
    active = (ModelVersion.objects.select_for_update()
              .filter(project=version.project, status=ModelStatus.ACTIVE).first())
    comparison = version_compare(candidate=version.metrics, active=active.metrics if active else None,
                                 tolerance=version.project.promotion_tolerance)
    if active is not None:
        comparison["active_version"] = active.number
    version.comparison = comparison
    version.finished_at = timezone.now()
    if comparison["promote"]:
        _activate(version=version, active=active, user=None)
    else:
        version.status = ModelStatus.REJECTED
        version.save(update_fields=["status", "comparison", "finished_at"])
        alert_record_decision(version=version, previous=active)
    return version


def _activate(*, version: ModelVersion, active: ModelVersion | None, user: AbstractBaseUser | None) -> None:
    if active is not None and active.pk != version.pk:
        active.status = ModelStatus.RETIRED
        active.save(update_fields=["status"])  # first, so the one-active constraint holds at each step
    version.status = ModelStatus.ACTIVE
    version.promoted_at = timezone.now()
    version.promoted_by = user if user is not None and user.is_authenticated else None
    version.save()
    _queue_preannotation(version.pk)
    alert_record_decision(version=version, previous=active)


@transaction.atomic
def version_promote(*, version: ModelVersion, user: AbstractBaseUser | None) -> ModelVersion:
    """Make a finished version the active one by hand (promoting a rejected candidate, or rolling
    back to an earlier version). The previous active version is retired."""
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == ModelStatus.ACTIVE:
        return version
    if version.status not in (ModelStatus.REJECTED, ModelStatus.RETIRED) or not version.artifact_path:
        raise InvalidInput(f"Version {version.number} is {version.status}; only a rejected or retired version "
                           "with an artifact can be promoted.")
    active = ModelVersion.objects.select_for_update().filter(project_id=version.project_id,
                                                             status=ModelStatus.ACTIVE).first()
    _activate(version=version, active=active, user=user)
    return version


def stale_trainings_fail(*, max_silence_s: float) -> int:
    """Mark trainings whose heartbeat stopped more than ``max_silence_s`` ago as failed (a worker
    died or was killed); this frees the project's training slot. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=max_silence_s)
    return ModelVersion.objects.filter(
        status__in=(ModelStatus.TRAINING, ModelStatus.EVALUATING), heartbeat_at__lt=cutoff,
    ).update(status=ModelStatus.FAILED, finished_at=timezone.now(),
             error=f"No heartbeat for more than {max_silence_s:.0f} s: the worker stopped.")


def retrain_due(*, project: Project) -> bool:
    """Whether enough new gold has accumulated since the last training (failed ones included: a
    failure is retried by hand or after more gold, not every few minutes)."""
    last = (ModelVersion.objects.filter(project=project).order_by("-number")
            .values_list("trained_on_gold_count", flat=True).first())
    new = gold_sentence_count(project=project) - (last or 0)
    return new >= max(1, project.retrain_min_new_gold)


# ---- pre-annotation and queue scores -------------------------------------------------------------------


def _unlabelled(project_id: int) -> Any:
    return Sentence.objects.filter(project_id=project_id).filter(
        ~Exists(Annotation.objects.filter(sentence=OuterRef("pk"), annotator__isnull=True)))


def preannotate(*, version_id: int, batch_size: int = 64, device: str | None = None) -> int:
    """Predict every sentence without gold (and without a prediction of this version yet) with an
    active version, upsert the predictions, then recompute the queue scores. Returns the number of
    sentences predicted; re-running adds no rows. A version that is not active is skipped."""
    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    if version.status != ModelStatus.ACTIVE:
        return 0
    import mlcore

    todo = (_unlabelled(version.project_id)
            .filter(~Exists(SentencePrediction.objects.filter(sentence=OuterRef("pk"), model_version=version)))
            .order_by("pk").values_list("pk", "text"))
    mc = BALD_MC_SAMPLES if version.project.queue_strategy == QueueStrategy.BALD else 0
    extractor = None
    done = 0
    rows = list(todo)
    for b in range(0, len(rows), batch_size):
        batch = rows[b : b + batch_size]
        if extractor is None:
            extractor = mlcore.load_model(version.artifact_path, device=device)
        preds = extractor.predict([text for _, text in batch], batch_size=min(batch_size, 32), mc_samples=mc)
        objs = [
            SentencePrediction(
                sentence_id=sid, model_version=version,
                mentions=[{"type": m.type, "fragments": [[m.start, m.end]], "score": round(float(m.score), 5)}
                          for m in p.mentions],
                relations=[{"type": r.type, "head": r.head, "tail": r.tail, "score": round(float(r.score), 5)}
                           for r in p.relations],
                uncertainty={k: float(v) for k, v in p.uncertainty.items()},
                embedding=[round(float(x), 5) for x in p.embedding] if p.embedding is not None else None,
            )
            for (sid, _), p in zip(batch, preds, strict=True)
        ]
        with transaction.atomic():
            SentencePrediction.objects.bulk_create(
                objs, update_conflicts=True, unique_fields=["sentence", "model_version"],
                update_fields=["mentions", "relations", "uncertainty", "embedding"],
            )
        done += len(objs)
    queue_scores_compute(version_id=version.pk)
    return done


@transaction.atomic
def queue_scores_compute(*, version_id: int, seed: int | None = None) -> int:
    """Order the unlabelled sentences' predictions with the project's strategy and store the order
    as ``SentencePrediction.score`` (higher first), so the queue is one indexed query."""
    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    project = version.project
    rows = (SentencePrediction.objects.filter(model_version=version, sentence__in=_unlabelled(project.pk))
            .values_list("pk", "sentence_id", "uncertainty", "embedding", "sentence__text"))
    pred_of: dict[int, int] = {}
    cands = []
    for pk, sid, unc, emb, text in rows:
        pred_of[sid] = pk
        cands.append(queue.candidate_from(sid, unc, emb, text))
    order = queue.rank(project.queue_strategy, cands, seed=project.pk if seed is None else seed)
    scores = queue.queue_scores(order)
    objs = [SentencePrediction(pk=pred_of[sid], score=score) for sid, score in scores.items()]
    SentencePrediction.objects.bulk_update(objs, ["score"], batch_size=1000)
    ModelVersion.objects.filter(pk=version.pk).update(ranked_with=project.queue_strategy)
    return len(objs)


def preannotation_due(*, project: Project) -> ModelVersion | None:
    """The active version when it has sentences to predict (imported by a path that did not queue
    pre-annotation) or its queue was ranked with another strategy than the project's; else None."""
    active = active_version(project=project)
    if active is None:
        return None
    if active.ranked_with != project.queue_strategy:
        return active
    missing = _unlabelled(project.pk).filter(
        ~Exists(SentencePrediction.objects.filter(sentence=OuterRef("pk"), model_version=active)))
    return active if missing.exists() else None
