"""Reads. Views and tasks get their data from here."""

from __future__ import annotations

import random
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.models import (
    Annotation,
    AnnotationStatus,
    Membership,
    ModelStatus,
    ModelVersion,
    Project,
    QueueReservation,
    QueueStrategy,
    Role,
    Sentence,
    SentencePrediction,
    SuggestionDecision,
)


def project_list_for(*, user: AbstractBaseUser) -> QuerySet[Project]:
    """Projects the user is a member of (superusers see all)."""
    if getattr(user, "is_superuser", False):
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def role_of(*, user: AbstractBaseUser, project: Project) -> str | None:
    """The user's role in the project, or None if not a member. Superusers act as admins."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    return Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()


def annotation_state(*, annotation: Annotation) -> dict[str, Any]:
    """The annotation as the API and the editor see it."""
    mentions = list(annotation.mentions.select_related("entity_type").order_by("start", "end", "id"))
    return annotation_state_of(
        annotation=annotation,
        text=annotation.sentence.text,
        annotator=annotation.annotator.get_username() if annotation.annotator_id else None,
        mentions=[(m.pk, m.entity_type.name, m.fragments) for m in mentions],
        relations=[(r.pk, r.relation_type.name, r.head_id, r.tail_id)
                   for r in annotation.relations.select_related("relation_type").order_by("id")],
        groups=[(g.pk, g.group_type, [m.pk for m in g.members.all()])
                for g in annotation.groups.prefetch_related("members")],
    )


def annotation_state_of(
    *, annotation: Annotation, text: str, annotator: str | None,
    mentions: list[tuple[int, str, list[list[int]]]], relations: list[tuple[int, str, int, int]],
    groups: list[tuple[int, str, list[int]]],
) -> dict[str, Any]:
    """:func:`annotation_state` from rows already in hand: mentions ``(id, type, fragments)``,
    relations ``(id, type, head id, tail id)``, groups ``(id, type, member ids)`` (groups in position
    order). Mentions come out in (start, end, id) order, relations by id, group members by id."""
    mentions = sorted(mentions, key=lambda m: (m[2][0][0], m[2][-1][1], m[0]))
    return {
        "id": annotation.pk,
        "sentence": annotation.sentence_id,
        "annotator": annotator,
        "gold": annotation.annotator_id is None,
        "status": annotation.status,
        "version": annotation.version,
        "updated_at": annotation.updated_at.isoformat() if annotation.updated_at else None,
        "mentions": [
            {"id": str(pk), "type": name, "fragments": frags, "text": " ".join(text[s:e] for s, e in frags)}
            for pk, name, frags in mentions
        ],
        "relations": [
            {"id": str(pk), "type": name, "head": str(head), "tail": str(tail)}
            for pk, name, head, tail in sorted(relations)
        ],
        "groups": [
            {"id": str(pk), "type": kind, "members": [str(m) for m in sorted(members)]}
            for pk, kind, members in groups
        ],
    }


def sentence_annotations_visible(*, sentence: Sentence, user: AbstractBaseUser, role: str) -> QuerySet[Annotation]:
    """Annotations of a sentence the user may see: own and gold always; others' for curators/admins,
    or when the project lets annotators see each other's work."""
    qs = Annotation.objects.filter(sentence=sentence).select_related("annotator", "sentence")
    if role in (Role.ADMIN, Role.CURATOR, Role.VIEWER) or sentence.project.annotators_see_others:
        return qs
    return qs.filter(Q(annotator=user) | Q(annotator__isnull=True))


def sentence_detail(*, sentence: Sentence, user: AbstractBaseUser, role: str) -> dict[str, Any]:
    """A sentence with its neighbours (for context) and the annotations the user may see.

    ``sentence`` should come with ``document`` and ``project`` selected."""
    neighbours = dict(
        Sentence.objects.filter(document_id=sentence.document_id,
                                position__in=[sentence.position - 1, sentence.position + 1])
        .values_list("position", "text")
    )
    visible = sentence_annotations_visible(sentence=sentence, user=user, role=role)
    return {
        "id": sentence.pk,
        "document": sentence.document.external_id,
        "section": sentence.document.section,
        "position": sentence.position,
        "start": sentence.start,
        "end": sentence.end,
        "text": sentence.text,
        "previous": neighbours.get(sentence.position - 1),
        "next": neighbours.get(sentence.position + 1),
        "annotations": [annotation_state(annotation=a) for a in visible],
    }


def queue_candidates(*, project: Project, user: AbstractBaseUser) -> QuerySet[Sentence]:
    """Sentences the user may still be given: no gold yet, not already annotated by them, and fewer
    submitted annotations plus live reservations of other annotators (``QueueReservation``) than the
    project asks for.

    Written as NOT EXISTS filters over the primary-key order so the database stops at the first
    match instead of counting annotations for every sentence of the project; sentences whose
    ``queue_done`` hint is set are skipped without visiting their annotations.
    """
    qs = Sentence.objects.filter(project=project, queue_done=False).filter(
        ~Exists(Annotation.objects.filter(sentence=OuterRef("pk"), annotator__isnull=True)),
        ~Exists(Annotation.objects.filter(sentence=OuterRef("pk"), annotator=user)),
    )
    reserving = settings.TRIALMARK_QUEUE_RESERVE_MINUTES > 0
    held = QueueReservation.objects.filter(sentence=OuterRef("pk"), expires_at__gt=timezone.now()).exclude(user=user)
    if project.annotators_per_sentence == 1:
        qs = qs.filter(~Exists(Annotation.objects.filter(sentence=OuterRef("pk"), status=AnnotationStatus.SUBMITTED)))
        return qs.filter(~Exists(held)) if reserving else qs
    qs = qs.annotate(n_submitted=Count("annotations", filter=Q(annotations__status=AnnotationStatus.SUBMITTED)))
    if not reserving:
        return qs.filter(n_submitted__lt=project.annotators_per_sentence)
    # A reservation of someone who has since submitted the sentence is already counted as submitted.
    held = held.exclude(Exists(Annotation.objects.filter(
        sentence=OuterRef("sentence_id"), annotator=OuterRef("user_id"), status=AnnotationStatus.SUBMITTED)))
    n_held = Subquery(held.order_by().values("sentence").annotate(n=Count("pk")).values("n"))
    return qs.annotate(n_held=Coalesce(n_held, Value(0))).filter(
        Q(n_submitted__lt=project.annotators_per_sentence - F("n_held")))


def queue_held_by_others(*, project: Project, user: AbstractBaseUser) -> int:
    """Open sentences the user has not annotated that are reserved for other annotators right now
    (they come back to the queue when their reservations lapse)."""
    return (QueueReservation.objects.filter(project=project, expires_at__gt=timezone.now(),
                                            sentence__queue_done=False)
            .exclude(user=user).exclude(sentence__annotations__annotator=user)
            .values("sentence").distinct().count())


def _next_ranked(*, project: Project, candidates: QuerySet[Sentence]) -> Sentence | None:
    """The best-scored candidate by the active model's precomputed queue score, or None when the
    active model has scored none of the candidates (new sentences not yet pre-annotated come after
    the scored ones, in document order)."""
    version_id = (ModelVersion.objects.filter(project=project, status=ModelStatus.ACTIVE)
                  .values_list("pk", flat=True).first())
    if version_id is None:
        return None
    # Walks the (model_version, -score, sentence) index and stops at the first prediction whose
    # sentence is still a candidate for this user.
    pred = (
        SentencePrediction.objects.filter(model_version_id=version_id)
        .filter(Exists(candidates.filter(pk=OuterRef("sentence_id")).order_by()))
        .order_by("-score", "sentence_id").select_related("sentence__document").first()
    )
    return pred.sentence if pred is not None else None


def queue_next_candidate(
    *, project: Project, user: AbstractBaseUser, seed: int | None, exclude: Collection[int],
) -> Sentence | None:
    """The best candidate of the user's queue under the project's strategy (no reservation made; see
    ``services.next_sentence_for``)."""
    # Sentences are created in document order, so primary-key order is document order.
    qs = queue_candidates(project=project, user=user).exclude(pk__in=list(exclude)).order_by("pk")
    if project.queue_strategy not in (QueueStrategy.SEQUENTIAL, QueueStrategy.RANDOM):
        ranked = _next_ranked(project=project, candidates=qs)
        if ranked is not None:
            return ranked
    if project.queue_strategy == QueueStrategy.RANDOM:
        ids = list(qs.values_list("pk", flat=True))
        if not ids:
            return None
        rng = random.Random(seed if seed is not None else hash((project.pk, user.pk)))
        return Sentence.objects.select_related("document").get(pk=rng.choice(ids))
    return qs.select_related("document").first()


def model_versions_of(*, project: Project) -> QuerySet[ModelVersion]:
    """The project's model versions, newest first."""
    return ModelVersion.objects.filter(project=project).order_by("-number")


def sentence_suggestions(*, sentence: Sentence) -> dict[str, Any]:
    """The active model's prediction for a sentence (empty when there is no active model or it has
    not predicted this sentence yet). Offsets are sentence-relative characters."""
    pred = (SentencePrediction.objects.filter(sentence=sentence, model_version__status=ModelStatus.ACTIVE)
            .select_related("model_version").first())
    if pred is None:
        return {"sentence": sentence.pk, "model_version": None, "mentions": [], "relations": [],
                "uncertainty": {}, "score": None}
    return {"sentence": sentence.pk, "model_version": pred.model_version.number, "mentions": pred.mentions,
            "relations": pred.relations, "uncertainty": pred.uncertainty, "score": pred.score}


def suggestion_decisions_of(*, sentence: Sentence, user: AbstractBaseUser, model_version_id: int) -> dict[str, Any]:
    """The user's recorded decisions on one version's suggestions for a sentence:
    ``{"mention": {index: decision}, "relation": {index: decision}}``."""
    out: dict[str, Any] = {"mention": {}, "relation": {}}
    for kind, index, decision in SuggestionDecision.objects.filter(
            sentence=sentence, user=user, model_version_id=model_version_id).values_list("kind", "index", "decision"):
        out[kind][index] = decision
    return out


def suggestion_decision_rows(*, project: Project, kind: str | None = None) -> list[dict[str, Any]]:
    """Every recorded suggestion decision of the project as plain rows (for the dashboard)."""
    qs = SuggestionDecision.objects.filter(sentence__project=project)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.values("sentence_id", "model_version_id", "model_version__number", "user_id", "kind", "index",
                          "label", "decision"))


def suggestion_decision_counts(*, project: Project) -> list[dict[str, Any]]:
    """Recorded decisions counted per model version, kind and suggested type."""
    rows = (SuggestionDecision.objects.filter(sentence__project=project)
            .values("model_version__number", "kind", "label")
            .annotate(accepted=Count("pk", filter=Q(decision="accepted")),
                      rejected=Count("pk", filter=Q(decision="rejected")))
            .order_by("model_version__number", "kind", "label"))
    return [{"version": r["model_version__number"], "kind": r["kind"], "type": r["label"],
             "accepted": r["accepted"], "rejected": r["rejected"]} for r in rows]


# --- review (adjudication) ----------------------------------------------------------------------------------


def review_queue(
    *, project: Project, state: str = "pending", disputed_only: bool = False, q: str = "", annotator: str = "",
    min_versions: int = 2,
) -> list[dict[str, Any]]:
    """Sentences with at least ``min_versions`` submitted annotations, for a curator to adjudicate:
    sentences without gold first (``state``: pending / gold / all), then the most disputed (mentions and
    relations not in every version), then the lowest mean pairwise mention F1, then document order."""
    from annotation.loop import agreement, dashboard

    submitted = Annotation.objects.filter(sentence=OuterRef("pk"), status=AnnotationStatus.SUBMITTED)
    candidates = Sentence.objects.filter(project=project).annotate(
        n_submitted=Count("annotations", filter=Q(annotations__status=AnnotationStatus.SUBMITTED)),
    ).filter(n_submitted__gte=min_versions)
    gold = Exists(Annotation.objects.filter(sentence=OuterRef("pk"), annotator__isnull=True))
    if state == "pending":
        candidates = candidates.filter(~gold)
    elif state == "gold":
        candidates = candidates.filter(gold)
    if annotator:
        candidates = candidates.filter(Exists(submitted.filter(annotator__username=annotator)))
    q = q.strip()
    if q:
        candidates = candidates.filter(Q(text__icontains=q) | Q(document__external_id__icontains=q))
    corpus, where = dashboard.agreement_corpus(project=project, sentences=candidates.values("pk"))
    rows = []
    for sid, s in corpus.items():
        coders = sorted(name for name in s.layers if name != dashboard.GOLD)
        has_gold = dashboard.GOLD in s.layers
        w = where[sid]
        d = agreement.sentence_disagreement(s, coders) if len(coders) >= 2 else None
        disputed = (d["mentions_disputed"] + d["relations_disputed"]) if d else 0
        if disputed_only and not disputed:
            continue
        rows.append({"sentence": sid, "text": s.text, "annotators": coders, "has_gold": has_gold,
                     "mentions_disputed": d["mentions_disputed"] if d else 0,
                     "relations_disputed": d["relations_disputed"] if d else 0, "disputed": disputed,
                     "mean_mention_f1": d["mean_mention_f1"] if d else None, **w})
    rows.sort(key=lambda r: (r["has_gold"], -r["disputed"],
                             r["mean_mention_f1"] if r["mean_mention_f1"] is not None else 101.0,
                             r["document"], r["position"]))
    return rows


def review_comparison(*, sentence: Sentence) -> dict[str, Any]:
    """Every submitted annotator version of a sentence, and the union of their items marked with who has
    each one: ``mentions`` keyed by (type, fragments), ``relations`` by (type, head, tail) with whole
    mentions as ends (ends ordered for symmetric types), ``groups`` by (type, member mentions), so an
    item "agrees" only when every version has exactly it. Also the current gold (or None) and who still has a draft."""
    from annotation.models import RelationType
    from annotation.services.review import group_key, mention_key, relation_key

    anns = list(Annotation.objects.filter(sentence=sentence, annotator__isnull=False)
                .select_related("annotator", "sentence").order_by("annotator__username"))
    versions = [annotation_state(annotation=a) for a in anns if a.status == AnnotationStatus.SUBMITTED]
    drafting = [a.annotator.get_username() for a in anns if a.status == AnnotationStatus.DRAFT]
    gold = Annotation.objects.filter(sentence=sentence, annotator__isnull=True).select_related("sentence").first()
    symmetric = set(RelationType.objects.filter(project_id=sentence.project_id, symmetric=True)
                    .values_list("name", flat=True))
    text = sentence.text
    mentions: dict[str, dict[str, Any]] = {}
    relations: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    for v in versions:
        keys = {m["id"]: mention_key(m["type"], m["fragments"]) for m in v["mentions"]}
        for m in v["mentions"]:
            key = keys[m["id"]]
            item = mentions.setdefault(repr(key), {"key": key, "type": key[0], "fragments": key[1],
                                                   "text": " … ".join(text[s:e] for s, e in key[1]), "who": []})
            item["who"].append(v["annotator"])
        for r in v["relations"]:
            if r["head"] not in keys or r["tail"] not in keys:
                continue
            key = relation_key(r["type"], keys[r["head"]], keys[r["tail"]], r["type"] in symmetric)
            item = relations.setdefault(repr(key), {"key": key, "type": key[0], "head": key[1], "tail": key[2],
                                                    "symmetric": key[0] in symmetric, "who": []})
            if v["annotator"] not in item["who"]:
                item["who"].append(v["annotator"])
        for g in v["groups"]:
            if any(m not in keys for m in g["members"]):
                continue
            key = group_key(g["type"], [keys[m] for m in g["members"]])
            item = groups.setdefault(repr(key), {"key": key, "type": key[0], "members": key[1], "who": []})
            if v["annotator"] not in item["who"]:
                item["who"].append(v["annotator"])
    n = len(versions)
    by_span: dict[str, set[str]] = {}
    for item in mentions.values():
        by_span.setdefault(repr(item["fragments"]), set()).add(item["type"])
    for item in mentions.values():
        item["agreed"] = n > 0 and len(item["who"]) == n
        item["other_types"] = sorted(by_span[repr(item["fragments"])] - {item["type"]})
    for item in groups.values():
        item["agreed"] = n > 0 and len(item["who"]) == n
        item["texts"] = [" … ".join(text[s:e] for s, e in m[1]) for m in item["members"]]
    for item in relations.values():
        item["agreed"] = n > 0 and len(item["who"]) == n
        for end in ("head", "tail"):
            item[end + "_text"] = " … ".join(text[s:e] for s, e in item[end][1])
    return {
        "versions": versions,
        "annotators": [v["annotator"] for v in versions],
        "drafting": drafting,
        "gold": annotation_state(annotation=gold) if gold is not None else None,
        "mentions": sorted(mentions.values(), key=lambda m: (m["fragments"], m["type"])),
        "relations": sorted(relations.values(), key=lambda r: (r["head"][1], r["tail"][1], r["type"])),
        "groups": sorted(groups.values(), key=lambda g: (g["members"], g["type"])),
    }


def review_annotators(*, project: Project) -> list[str]:
    """Usernames of everyone who submitted an annotation in the project (the review list's filter)."""
    return sorted(set(Annotation.objects.filter(sentence__project=project, status=AnnotationStatus.SUBMITTED)
                      .values_list("annotator__username", flat=True).distinct()))
