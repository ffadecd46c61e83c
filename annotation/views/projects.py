"""Pages for data managers: the project list and overview, documents, and imports.

Views stay thin: they resolve the project and the user's role (non-members get 404), read through
``annotation.selectors``, write through ``annotation.services`` and turn domain errors into messages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from annotation import selectors, services
from annotation.errors import DomainError
from annotation.forms import ImportForm, ProjectCreateForm
from annotation.loop import dashboard
from annotation.models import (
    RUNNING_MODEL_STATUSES,
    Annotation,
    AnnotationStatus,
    Document,
    EntityType,
    ImportJob,
    JobStatus,
    Membership,
    ModelStatus,
    ModelVersion,
    Project,
    RelationType,
    Role,
    Sentence,
    Split,
)
from annotation.rendering import Span, mention_text, render_text, text_colour_for
from annotation.views.common import (
    CONFIGURE,
    DOCUMENTS_PER_PAGE,
    _count,
    project_for,
    template_ctx,
)

# --- projects -----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Project “{project.name}” created; you are its admin.")
            return redirect("project-detail", project_id=project.pk)
    projects = selectors.project_list_for(user=request.user).annotate(
        n_documents=_count(Document.objects.filter(project=OuterRef("pk")).values("project")),
        n_sentences=_count(Sentence.objects.filter(project=OuterRef("pk")).values("project")),
        n_gold=_count(Annotation.objects.filter(sentence__project=OuterRef("pk"), annotator__isnull=True)
                      .values("sentence__project")),
    ).order_by("name")
    roles = dict(Membership.objects.filter(user=request.user).values_list("project_id", "role"))
    rows = []
    for p in projects:
        role = roles.get(p.pk) or (Role.ADMIN if request.user.is_superuser else None)
        rows.append({"project": p, "role": role, "role_label": Role(role).label if role else ""})
    return render(request, "annotation/project_list.html", template_ctx(rows=rows, form=form))


def _sentence_states(project: Project) -> list[dict[str, Any]]:
    """Sentences by their furthest state: gold > submitted > draft (in progress) > new."""
    anns = Annotation.objects.filter(sentence=OuterRef("pk"))
    counts = Sentence.objects.filter(project=project).annotate(
        has_gold=Exists(anns.filter(annotator__isnull=True)),
        has_submitted=Exists(anns.filter(status=AnnotationStatus.SUBMITTED)),
        has_draft=Exists(anns.filter(status=AnnotationStatus.DRAFT)),
    ).aggregate(
        gold=Count("pk", filter=Q(has_gold=True)),
        submitted=Count("pk", filter=Q(has_gold=False, has_submitted=True)),
        draft=Count("pk", filter=Q(has_gold=False, has_submitted=False, has_draft=True)),
        new=Count("pk", filter=Q(has_gold=False, has_submitted=False, has_draft=False)),
    )
    total = sum(counts.values())
    labels = [("new", "New"), ("draft", "In progress"), ("submitted", "Submitted"), ("gold", "Gold")]
    return [
        {"key": key, "label": label, "count": counts[key],
         "pct": f"{100 * counts[key] / total:.2f}" if total else "0", "total": total}
        for key, label in labels
    ]


@login_required
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request, project_id)
    docs = Document.objects.filter(project=project).annotate(
        n_sentences=Count("sentences", distinct=True),
        n_gold=Count("sentences__annotations", filter=Q(sentences__annotations__annotator__isnull=True)),
    ).order_by("external_id")
    split = request.GET.get("split", "")
    if split in Split.values:
        docs = docs.filter(split=split)
    else:
        split = ""
    q = request.GET.get("q", "").strip()
    if q:
        docs = docs.filter(Q(external_id__icontains=q) | Q(group_key__icontains=q) | Q(text__icontains=q))
    page = Paginator(docs, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    states = _sentence_states(project)
    entity_types = [
        {"type": et, "fg": text_colour_for(et.colour)} for et in EntityType.objects.filter(project=project)
    ]
    relation_types = RelationType.objects.filter(project=project).prefetch_related("allowed_heads", "allowed_tails")
    jobs = ImportJob.objects.filter(project=project)[:5] if role in CONFIGURE else []
    active = ModelVersion.objects.filter(project=project, status=ModelStatus.ACTIVE).first()
    training = ModelVersion.objects.filter(project=project, status__in=RUNNING_MODEL_STATUSES).first()
    return render(request, "annotation/project_detail.html", template_ctx(
        project, role, active=active, training=training,
        active_f1={"entities": dashboard._micro(active.metrics, "entities"),
                   "relations": dashboard._micro(active.metrics, "relations")} if active else None,
        models_api=reverse("api-model-list", kwargs={"project_id": project.pk}),
        page=page, split=split, q=q, splits=Split.choices, filter_query=filters.urlencode(),
        states=states, n_sentences=states[0]["total"],
        n_documents=Document.objects.filter(project=project).count(),
        n_gold=next(s["count"] for s in states if s["key"] == "gold"),
        entity_types=entity_types, relation_types=relation_types, jobs=jobs,
    ))


# --- documents ----------------------------------------------------------------------------------------------


def _annotation_view(state: dict[str, Any], text: str, colours: dict[str, str]) -> dict[str, Any]:
    """One annotation of a sentence, ready for the template: the HTML text, relations and groups."""
    prefix = f"a{state['id']}-"
    spans = {
        m["id"]: Span(key=prefix + m["id"], label=m["type"], colour=colours.get(m["type"], "#888888"),
                      fragments=tuple(tuple(f) for f in m["fragments"]), text=mention_text(text, m["fragments"]))
        for m in state["mentions"]
    }

    def arg(mid: str) -> dict[str, Any]:
        sp = spans.get(mid)
        if sp is None:
            return {"key": "", "text": "?", "colour": "#888888", "fg": "#111"}
        return {"key": sp.key, "text": sp.text, "label": sp.label, "colour": sp.colour, "fg": text_colour_for(sp.colour)}

    return {
        "state": state,
        "html": render_text(text, spans.values()),
        "relations": [{"type": r["type"], "head": arg(r["head"]), "tail": arg(r["tail"])} for r in state["relations"]],
        "groups": [{"type": g["type"], "members": [arg(m) for m in g["members"]]} for g in state["groups"]],
        "n_mentions": len(spans),
    }


@login_required
def document_detail(request: HttpRequest, project_id: int, document_id: int) -> HttpResponse:
    project, role = project_for(request, project_id)
    document = get_object_or_404(Document, project=project, pk=document_id)
    layer = request.GET.get("layer", "")
    colours = dict(EntityType.objects.filter(project=project).values_list("name", "colour"))
    me = request.user.get_username()
    annotators: set[str] = set()
    rows = []
    for sentence in Sentence.objects.filter(document=document).select_related("project").order_by("position"):
        visible = list(selectors.sentence_annotations_visible(sentence=sentence, user=request.user, role=role))
        gold = next((a for a in visible if a.annotator_id is None), None)
        others = sorted((a for a in visible if a.annotator_id is not None),
                        key=lambda a: (a.annotator.get_username() != me, a.annotator.get_username()))
        annotators.update(a.annotator.get_username() for a in others)
        if layer == "gold":
            shown = [gold] if gold else []
        elif layer:
            shown = [a for a in others if a.annotator.get_username() == layer]
        else:
            # By default the gold version; where there is none yet, every version the user may see.
            shown = [gold] if gold else others
        rows.append({
            "sentence": sentence,
            "state": "gold" if gold else ("submitted" if any(a.status == AnnotationStatus.SUBMITTED for a in others)
                                          else "draft" if others else "new"),
            "annotations": [
                _annotation_view(selectors.annotation_state(annotation=a), sentence.text, colours) for a in shown
            ],
        })
    if layer and layer != "gold" and layer not in annotators:
        messages.info(request, f"No annotations by {layer} that you may see in this document.")
    legend = [{"name": name, "colour": colour, "fg": text_colour_for(colour)} for name, colour in colours.items()]
    return render(request, "annotation/document_detail.html", template_ctx(
        project, role, document=document, rows=rows, layer=layer, annotators=sorted(annotators), me=me,
        legend=legend,
    ))


# --- import -------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def import_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request, project_id, CONFIGURE)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_create(project=project, user=request.user, upload=form.cleaned_data["file"],
                                             fmt=form.cleaned_data["format"], options=form.options())
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("import-detail", project_id=project.pk, job_id=job.pk)
    return render(request, "annotation/import_form.html", template_ctx(project, role, form=form))


@login_required
def import_detail(request: HttpRequest, project_id: int, job_id: int) -> HttpResponse:
    project, role = project_for(request, project_id, CONFIGURE)
    job = get_object_or_404(ImportJob, project=project, pk=job_id)
    return render(request, "annotation/import_detail.html", template_ctx(
        project, role, job=job, running=job.status in (JobStatus.PENDING, JobStatus.RUNNING),
        summary=sorted((k.replace("_", " "), v) for k, v in (job.summary or {}).items()),
    ))


