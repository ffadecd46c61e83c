"""Reads for the project dashboard (selectors): model versions' figures, calibration, suggestion outcomes,
annotator progress and agreement, alerts. The arithmetic lives in :mod:`annotation.loop.agreement` and
:mod:`annotation.loop.monitoring` (plain data, no Django); this module only gathers the rows."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q

from annotation import selectors
from annotation.loop import agreement, monitoring
from annotation.models import (
    Annotation,
    AnnotationStatus,
    CorpusExport,
    Mention,
    ModelStatus,
    ModelVersion,
    MonitoringAlert,
    Project,
    Relation,
    Sentence,
    SentencePrediction,
)

GOLD = "(gold)"  # a layer name no username can take (Django usernames have no parentheses)
FINISHED = (ModelStatus.ACTIVE, ModelStatus.REJECTED, ModelStatus.RETIRED)


def _part(metrics: dict[str, Any], part: str) -> dict[str, Any]:
    return (metrics or {}).get(part) or {}


def _micro(metrics: dict[str, Any], part: str, key: str = "f1") -> float | None:
    value = _part(metrics, part).get("micro", {}).get(key)
    return None if value is None else round(float(value), 2)


def version_history(*, project: Project) -> list[dict[str, Any]]:
    """Every model version, oldest first, with its frozen-split figures (None where it has none)."""
    rows = []
    for v in ModelVersion.objects.filter(project=project).order_by("number"):
        m = v.metrics or {}
        cal = m.get("calibration") or {}
        fp = v.train_fingerprint or {}
        rows.append({
            "number": v.number, "status": v.status, "status_label": v.get_status_display(),
            "architecture": v.architecture, "encoder": v.encoder or "default (MiniLM-L6)",
            "created_at": v.created_at, "finished_at": v.finished_at, "reason": v.reason,
            "entity_f1": _micro(m, "entities"), "entity_p": _micro(m, "entities", "precision"),
            "entity_r": _micro(m, "entities", "recall"),
            "relation_f1": _micro(m, "relations"), "relation_p": _micro(m, "relations", "precision"),
            "relation_r": _micro(m, "relations", "recall"),
            "entity_ece": round(cal["entity_ece"], 2) if cal.get("entity_ece") is not None else None,
            "relation_ece": round(cal["relation_ece"], 2) if cal.get("relation_ece") is not None else None,
            # Learning curve x: the train-split sentences the model saw (fingerprint), else all gold then.
            "trained_on": fp.get("sentences", v.trained_on_gold_count if v.status in FINISHED else None),
            "eval_sentences": m.get("n_examples"),
            "decision": (v.comparison or {}).get("reason", ""),
            "error": (v.error or "").split("\n", 1)[0][:200],
        })
    return rows


def version_per_type(*, version: ModelVersion | None) -> dict[str, Any] | None:
    """Per-type P/R/F1 (entities and relations) of one version, types with no support and no predictions
    left out."""
    if version is None or not version.metrics:
        return None
    out: dict[str, Any] = {"number": version.number, "status": version.status}
    for part in ("entities", "relations"):
        per_type = _part(version.metrics, part).get("per_type") or {}
        out[part] = [
            {"type": t, "precision": round(v["precision"], 2), "recall": round(v["recall"], 2),
             "f1": round(v["f1"], 2), "support": v.get("support", 0), "predicted": v.get("predicted", 0)}
            for t, v in per_type.items() if v.get("support") or v.get("predicted")
        ]
    return out


def calibration_of(*, version: ModelVersion | None) -> dict[str, Any] | None:
    """The reliability bins and ECE of a version on the frozen split (bins exist for versions evaluated
    since they were stored; older ones show the ECE only)."""
    if version is None:
        return None
    cal = (version.metrics or {}).get("calibration")
    if not cal:
        return None
    return {
        "number": version.number,
        "entity_ece": cal.get("entity_ece"), "relation_ece": cal.get("relation_ece"),
        "entity_bins": cal.get("entity_bins"), "relation_bins": cal.get("relation_bins"),
        "entity_predictions": cal.get("entity_predictions"), "relation_predictions": cal.get("relation_predictions"),
        "entity_temperature": cal.get("entity_temperature"), "relation_temperature": cal.get("relation_temperature"),
    }


def _human_mentions(annotation_ids: list[int]) -> dict[int, list[tuple[str, list]]]:
    out: dict[int, list[tuple[str, list]]] = defaultdict(list)
    for aid, t, frags in Mention.objects.filter(annotation_id__in=annotation_ids).values_list(
            "annotation_id", "entity_type__name", "fragments"):
        out[aid].append((t, frags))
    return out


def suggestion_rates(*, project: Project) -> list[dict[str, Any]]:
    """Accept / edit / reject counts and shares of model suggestions per version and suggested type.

    Where an annotator decided on a sentence's suggestions on the annotation page, those recorded decisions
    count (one per user and suggested mention: accepted or rejected). Sentences without recorded decisions
    (annotated before the page recorded them, or imported) fall back to the rule in
    :mod:`annotation.loop.monitoring` (human versions saved after the suggestion was made)."""
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    decided: set[tuple[int, int]] = set()
    for row in selectors.suggestion_decision_rows(project=project, kind="mention"):
        decided.add((row["sentence_id"], row["model_version_id"]))
        counts[(row["model_version__number"], row["label"])][row["decision"]] += 1
        counts[(row["model_version__number"], "(all types)")][row["decision"]] += 1
    human = Annotation.objects.filter(sentence__project=project).exclude(status=AnnotationStatus.DRAFT)
    preds = [
        p for p in SentencePrediction.objects.filter(sentence__project=project)
        .filter(Exists(human.filter(sentence=OuterRef("sentence"), updated_at__gte=OuterRef("created_at"))))
        .values("sentence_id", "model_version_id", "model_version__number", "mentions", "created_at")
        if (p["sentence_id"], p["model_version_id"]) not in decided
    ]
    sentence_ids = {p["sentence_id"] for p in preds}
    anns = list(human.filter(sentence_id__in=sentence_ids).values("id", "sentence_id", "updated_at"))
    by_sentence: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in anns:
        by_sentence[a["sentence_id"]].append(a)
    mentions = _human_mentions([a["id"] for a in anns])
    for p in preds:
        for a in by_sentence[p["sentence_id"]]:
            if a["updated_at"] < p["created_at"]:
                continue
            for m in p["mentions"]:
                outcome = monitoring.suggestion_outcome((m["type"], m["fragments"]), mentions[a["id"]])
                counts[(p["model_version__number"], m["type"])][outcome] += 1
                counts[(p["model_version__number"], "(all types)")][outcome] += 1
    return [
        {"version": v, "type": t, **monitoring.outcome_rates(c)}
        for (v, t), c in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] != "(all types)", kv[0][1]))
    ]


def annotator_progress(*, project: Project) -> dict[str, Any]:
    """Per annotator: drafts, submitted sentences and throughput; for the project: sentences by state."""
    User = get_user_model()
    rows = []
    stamps: dict[int, list] = defaultdict(list)
    for uid, ts in Annotation.objects.filter(sentence__project=project, status=AnnotationStatus.SUBMITTED).values_list(
            "annotator_id", "updated_at"):
        stamps[uid].append(ts)
    counts = (Annotation.objects.filter(sentence__project=project, annotator__isnull=False)
              .values("annotator_id").annotate(
                  drafts=Count("pk", filter=Q(status=AnnotationStatus.DRAFT)),
                  submitted=Count("pk", filter=Q(status=AnnotationStatus.SUBMITTED))))
    names = dict(User.objects.filter(pk__in=[c["annotator_id"] for c in counts]).values_list("pk", "username"))
    for c in counts:
        tp = monitoring.throughput(stamps.get(c["annotator_id"], []))
        rows.append({"annotator": names.get(c["annotator_id"], "?"), "drafts": c["drafts"],
                     "submitted": c["submitted"], **{k: tp[k] for k in ("per_hour", "active_hours", "sessions")}})
    rows.sort(key=lambda r: r["annotator"])
    anns = Annotation.objects.filter(sentence=OuterRef("pk"))
    states = Sentence.objects.filter(project=project).annotate(
        has_gold=Exists(anns.filter(annotator__isnull=True)),
        has_submitted=Exists(anns.filter(status=AnnotationStatus.SUBMITTED)),
    ).aggregate(
        total=Count("pk"), gold=Count("pk", filter=Q(has_gold=True)),
        submitted=Count("pk", filter=Q(has_gold=False, has_submitted=True)),
    )
    total = states["total"] or 0
    return {
        "annotators": rows, "total": total, "gold": states["gold"], "submitted": states["submitted"],
        "gold_pct": round(100.0 * states["gold"] / total, 1) if total else 0.0,
        "submitted_pct": round(100.0 * states["submitted"] / total, 1) if total else 0.0,
    }


def agreement_corpus(*, project: Project, sentences: Any = None
                     ) -> tuple[dict[int, agreement.SentenceLayers], dict[int, dict[str, Any]]]:
    """The submitted annotator layers (and gold) of every sentence that at least one annotator submitted,
    as plain data; plus each sentence's document, for links. ``sentences`` (ids or a queryset of them)
    limits it to those."""
    base = Annotation.objects.filter(sentence__project=project)
    if sentences is not None:
        base = base.filter(sentence__in=sentences)
    anns = list(base.filter(
        Exists(Annotation.objects.filter(sentence=OuterRef("sentence"), status=AnnotationStatus.SUBMITTED)))
        .filter(Q(status=AnnotationStatus.SUBMITTED) | Q(annotator__isnull=True))
        .values("id", "sentence_id", "annotator__username", "sentence__text", "sentence__document_id",
                "sentence__document__external_id", "sentence__position"))
    ids = [a["id"] for a in anns]
    mentions: dict[int, list[tuple[int, str, list]]] = defaultdict(list)
    for mid, aid, t, frags in Mention.objects.filter(annotation_id__in=ids).order_by("id").values_list(
            "id", "annotation_id", "entity_type__name", "fragments"):
        mentions[aid].append((mid, t, frags))
    relations: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for aid, h, t, r in Relation.objects.filter(annotation_id__in=ids).values_list(
            "annotation_id", "head_id", "tail_id", "relation_type__name"):
        relations[aid].append((h, t, r))
    corpus: dict[int, agreement.SentenceLayers] = {}
    where: dict[int, dict[str, Any]] = {}
    for a in anns:
        sid = a["sentence_id"]
        s = corpus.setdefault(sid, agreement.SentenceLayers(text=a["sentence__text"]))
        where[sid] = {"document_id": a["sentence__document_id"],
                      "document": a["sentence__document__external_id"], "position": a["sentence__position"]}
        index = {mid: i for i, (mid, _, _) in enumerate(mentions[a["id"]])}
        s.layers[a["annotator__username"] or GOLD] = agreement.Layer(
            mentions=[(t, f) for _, t, f in mentions[a["id"]]],
            relations=[(index[h], index[t], r) for h, t, r in relations[a["id"]] if h in index and t in index],
        )
    return corpus, where


def agreement_summary(*, project: Project, top: int = 10) -> dict[str, Any]:
    corpus, where = agreement_corpus(project=project)
    report = agreement.agreement_report(corpus, gold=GOLD, top=top)
    for d in report["most_disputed"]:
        d.update(where[d["sentence"]])
    for p in report["vs_gold"]:
        p["b"] = "gold"
    return report


def recent_alerts(*, project: Project, limit: int = 10) -> list[MonitoringAlert]:
    return list(MonitoringAlert.objects.filter(project=project).select_related("model_version")[:limit])


def exports_of(*, project: Project, limit: int = 20) -> list[CorpusExport]:
    return list(CorpusExport.objects.filter(project=project).select_related("created_by")[:limit])
