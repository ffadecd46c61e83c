"""The annotation page: one criterion at a time, edited in the browser (``static/js/editor/``).

The page is server-rendered with everything the editor needs as JSON (the sentence and its neighbours, the
schema, the user's own annotation, the active model's suggestions with the user's recorded decisions, and
why the queue chose the sentence); every write goes through the REST API (``MyAnnotationApi`` with its
``version`` check, ``SubmitApi``, ``SuggestionDecisionApi``). Viewers get the same page read-only, showing
the gold version; annotators only ever see their own work here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from annotation import selectors, services
from annotation.loop import queue
from annotation.models import (
    Annotation,
    EntityType,
    ModelStatus,
    Project,
    QueueStrategy,
    RelationType,
    Role,
    Sentence,
    SentencePrediction,
)
from annotation.rendering import text_colour_for
from annotation.views.common import project_for, template_ctx

ANNOTATE = frozenset({Role.ADMIN, Role.CURATOR, Role.ANNOTATOR})
CONTEXT_SENTENCES = 2  # neighbours shown on each side


def _skipped_key(project: Project) -> str:
    return f"skipped-{project.pk}"


def _skipped(request: HttpRequest, project: Project) -> list[int]:
    return [int(x) for x in request.session.get(_skipped_key(project), [])]


@login_required
@require_http_methods(["GET", "POST"])
def annotate_next(request: HttpRequest, project_id: int) -> HttpResponse:
    """The next sentence of the user's queue (the project's strategy, ``services.next_sentence_for``, as
    ``QueueNextApi`` serves it), minus the sentences skipped in this session. POST forgets the skips."""
    project, role = project_for(request, project_id, ANNOTATE)
    if request.method == "POST":
        request.session.pop(_skipped_key(project), None)
        return redirect("annotate-next", project_id=project.pk)
    skipped = _skipped(request, project)
    sentence = services.next_sentence_for(project=project, user=request.user, exclude=skipped)
    if sentence is None:
        return render(request, "annotation/annotate_empty.html", template_ctx(
            project, role, n_skipped=len(skipped),
            n_held=selectors.queue_held_by_others(project=project, user=request.user),
            reserve_minutes=settings.TRIALMARK_QUEUE_RESERVE_MINUTES))
    url = reverse("annotate-sentence", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})
    return redirect(f"{url}?via=queue")


@login_required
@require_POST
def annotate_skip(request: HttpRequest, project_id: int, sentence_id: int) -> HttpResponse:
    """Put the sentence aside for this session and go on with the queue (nothing is saved)."""
    project, _ = project_for(request, project_id, ANNOTATE)
    sentence = get_object_or_404(Sentence, project=project, pk=sentence_id)
    skipped = _skipped(request, project)
    if sentence.pk not in skipped:
        request.session[_skipped_key(project)] = [*skipped, sentence.pk]
    return redirect("annotate-next", project_id=project.pk)


def _schema(project: Project) -> dict[str, Any]:
    entity_types = [
        {"name": et.name, "colour": et.colour, "fg": text_colour_for(et.colour), "hotkey": et.hotkey}
        for et in EntityType.objects.filter(project=project)
    ]
    relation_types = [
        {"name": rt.name, "colour": rt.colour, "symmetric": rt.symmetric,
         "heads": sorted(e.name for e in rt.allowed_heads.all()),
         "tails": sorted(e.name for e in rt.allowed_tails.all())}
        for rt in RelationType.objects.filter(project=project).prefetch_related("allowed_heads", "allowed_tails")
    ]
    return {"entity_types": entity_types, "relation_types": relation_types}


def _queue_info(project: Project, sentence: Sentence, via: str, prediction: SentencePrediction | None,
                mine: Annotation | None) -> dict[str, Any]:
    """Why this sentence is in front of the user: the strategy and the sentence's uncertainty under it."""
    strategy = project.queue_strategy
    info: dict[str, Any] = {"strategy": strategy, "strategy_label": QueueStrategy(strategy).label, "via": via,
                            "uncertainty": None, "signals": {}, "note": ""}
    if prediction is not None:
        signals = {k: round(float(v), 4) for k, v in (prediction.uncertainty or {}).items()}
        info["signals"] = signals
        scorer = queue.SCORERS.get(strategy)
        if scorer is not None:
            cand = queue.candidate_from(sentence.pk, prediction.uncertainty, None, sentence.text)
            info["uncertainty"] = round(scorer(cand), 4)
    if via == "queue" and mine is not None and mine.status == "draft":
        info["note"] = "your unfinished draft comes first"
    elif strategy in (QueueStrategy.SEQUENTIAL, QueueStrategy.RANDOM):
        info["note"] = "no model ranking" if strategy == QueueStrategy.SEQUENTIAL else "drawn at random"
    elif prediction is None:
        info["note"] = "not scored by the active model yet: document order"
    return info


@login_required
def annotate_sentence(request: HttpRequest, project_id: int, sentence_id: int) -> HttpResponse:
    project, role = project_for(request, project_id)
    sentence = get_object_or_404(Sentence.objects.select_related("document"), project=project, pk=sentence_id)
    read_only = role not in ANNOTATE
    document = sentence.document
    neighbours = list(
        Sentence.objects.filter(document=document, position__gte=sentence.position - CONTEXT_SENTENCES,
                                position__lte=sentence.position + CONTEXT_SENTENCES)
        .exclude(pk=sentence.pk).order_by("position").values("id", "position", "text"))
    # Annotators (and everyone else) edit only their own layer; viewers read the gold version.
    if read_only:
        annotation = Annotation.objects.filter(sentence=sentence, annotator__isnull=True).first()
    else:
        annotation = Annotation.objects.filter(sentence=sentence, annotator=request.user).first()
    state = selectors.annotation_state(annotation=annotation) if annotation is not None else None
    prediction = (SentencePrediction.objects.filter(sentence=sentence, model_version__status=ModelStatus.ACTIVE)
                  .select_related("model_version").first())
    suggestions: dict[str, Any] = {"model_version": None, "mentions": [], "relations": [],
                                   "decisions": {"mention": {}, "relation": {}}}
    if prediction is not None and not read_only:
        suggestions = {
            "model_version": prediction.model_version.number, "mentions": prediction.mentions,
            "relations": prediction.relations,
            "decisions": selectors.suggestion_decisions_of(sentence=sentence, user=request.user,
                                                           model_version_id=prediction.model_version_id),
        }
    via = request.GET.get("via", "")
    kw = {"project_id": project.pk, "sentence_id": sentence.pk}
    payload = {
        "project": {"id": project.pk, "name": project.name},
        "user": request.user.get_username(),
        "role": role,
        "read_only": read_only,
        "sentence": {"id": sentence.pk, "text": sentence.text, "position": sentence.position},
        "document": {"id": document.pk, "external_id": document.external_id, "section": document.section,
                     "section_label": document.get_section_display() if document.section else ""},
        "context": {
            "before": [n for n in neighbours if n["position"] < sentence.position],
            "after": [n for n in neighbours if n["position"] > sentence.position],
        },
        "schema": _schema(project),
        "annotation": state,
        "suggestions": suggestions,
        "queue": _queue_info(project, sentence, via, prediction, annotation if not read_only else None),
        "urls": {
            "save": reverse("api-my-annotation", kwargs=kw),
            "submit": reverse("api-submit", kwargs=kw),
            "decisions": reverse("api-suggestion-decisions", kwargs=kw),
            "next": reverse("annotate-next", kwargs={"project_id": project.pk}),
            "skip": reverse("annotate-skip", kwargs=kw),
            "document": reverse("document-detail", kwargs={"project_id": project.pk, "document_id": document.pk})
            + f"#s{sentence.pk}",
        },
    }
    n_sentences = Sentence.objects.filter(document=document).count()
    return render(request, "annotation/annotate.html", template_ctx(
        project, role, sentence=sentence, document=document, payload=payload, read_only=read_only,
        n_sentences=n_sentences, queue_info=payload["queue"], suggestions=suggestions,
    ))
