"""Settings pages for project admins (project settings, label schema, guideline) and the guideline as
every member reads it. Writes go through ``annotation.services.project_settings``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from annotation.errors import DomainError
from annotation.forms import GuidelineForm, ProjectSettingsForm
from annotation.guideline import guideline_html
from annotation.models import EntityType, Membership, Mention, Relation, RelationType, Role
from annotation.rendering import text_colour_for
from annotation.services import project_settings as settings_services
from annotation.views.common import CONFIGURE, project_for, template_ctx


def _architectures() -> list[str]:
    from mlcore.registry import available_architectures  # the registry imports no torch

    return available_architectures()


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request, project_id, CONFIGURE)
    initial = {f: getattr(project, f) for f in settings_services.SETTINGS_FIELDS}
    archs = _architectures()
    if project.architecture not in archs:
        archs.append(project.architecture)
    form = ProjectSettingsForm(request.POST or None, initial=initial, architectures=archs)
    if request.method == "POST" and form.is_valid():
        changed = {k: v for k, v in form.cleaned_data.items() if v != initial.get(k)}
        try:
            settings_services.project_settings_update(project=project, **changed)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Settings saved." if changed else "Nothing changed.")
            return redirect("project-settings", project_id=project.pk)
    return render(request, "annotation/settings_project.html", template_ctx(project, role, form=form, here="settings",
                                                                             tab="project"))


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


@login_required
@require_http_methods(["GET", "POST"])
def schema_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request, project_id, CONFIGURE)
    if request.method == "POST":
        action, p = request.POST.get("action", ""), request.POST
        try:
            if action == "et_add":
                et = settings_services.entity_type_add(project=project, name=p.get("name", ""),
                                                       colour=p.get("colour", ""), hotkey=p.get("hotkey", ""))
                messages.success(request, f"Entity type {et.name} added.")
            elif action in ("et_update", "et_delete"):
                et = get_object_or_404(EntityType, project=project, pk=p.get("id"))
                if action == "et_update":
                    old = et.name
                    et = settings_services.entity_type_update(entity_type=et, name=p.get("name", ""),
                                                              colour=p.get("colour", ""), hotkey=p.get("hotkey", ""))
                    messages.success(request, f"Entity type {old} saved" + (f" as {et.name}." if old != et.name
                                                                             else "."))
                else:
                    settings_services.entity_type_delete(entity_type=et)
                    messages.success(request, f"Entity type {et.name} deleted.")
            elif action == "rt_add":
                rt = settings_services.relation_type_add(
                    project=project, name=p.get("name", ""), symmetric=p.get("symmetric") == "on",
                    allowed_heads=_ids(p.getlist("allowed_heads")), allowed_tails=_ids(p.getlist("allowed_tails")))
                messages.success(request, f"Relation type {rt.name} added.")
            elif action in ("rt_update", "rt_delete"):
                rt = get_object_or_404(RelationType, project=project, pk=p.get("id"))
                if action == "rt_update":
                    old = rt.name
                    rt = settings_services.relation_type_update(
                        relation_type=rt, name=p.get("name", ""), symmetric=p.get("symmetric") == "on",
                        allowed_heads=_ids(p.getlist("allowed_heads")),
                        allowed_tails=_ids(p.getlist("allowed_tails")))
                    messages.success(request, f"Relation type {old} saved" + (f" as {rt.name}." if old != rt.name
                                                                               else "."))
                else:
                    settings_services.relation_type_delete(relation_type=rt)
                    messages.success(request, f"Relation type {rt.name} deleted.")
            else:
                messages.error(request, "Unknown action.")
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("schema-settings", project_id=project.pk)
    usage = dict(Mention.objects.filter(entity_type__project=project).values("entity_type")
                 .annotate(n=Count("pk")).values_list("entity_type", "n"))
    rel_usage = dict(Relation.objects.filter(relation_type__project=project).values("relation_type")
                     .annotate(n=Count("pk")).values_list("relation_type", "n"))
    entity_types = [{"type": et, "fg": text_colour_for(et.colour), "used": usage.get(et.pk, 0)}
                    for et in EntityType.objects.filter(project=project)]
    relation_types = [
        {"type": rt, "used": rel_usage.get(rt.pk, 0),
         "heads": {e.pk for e in rt.allowed_heads.all()}, "tails": {e.pk for e in rt.allowed_tails.all()}}
        for rt in RelationType.objects.filter(project=project).prefetch_related("allowed_heads", "allowed_tails")
    ]
    return render(request, "annotation/settings_schema.html", template_ctx(
        project, role, entity_types=entity_types, relation_types=relation_types, here="settings", tab="schema"))


@login_required
@require_http_methods(["GET", "POST"])
def guideline_edit(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request, project_id, CONFIGURE)
    form = GuidelineForm(request.POST or None, initial={"guideline": project.guideline})
    preview: Any = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["guideline"]
        if request.POST.get("action") == "preview":
            preview = guideline_html(text)
        else:
            before = project.guideline_version
            settings_services.project_guideline_set(project=project, guideline=text)
            messages.success(request, f"Guideline saved (version {project.guideline_version})."
                             if project.guideline_version != before else "The guideline has not changed.")
            return redirect("guideline-edit", project_id=project.pk)
    return render(request, "annotation/settings_guideline.html", template_ctx(
        project, role, form=form, preview=preview if preview is not None else guideline_html(project.guideline),
        previewing=preview is not None, here="settings", tab="guideline"))


@login_required
def guideline_show(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request, project_id)
    return render(request, "annotation/guideline.html", template_ctx(
        project, role, html=guideline_html(project.guideline), here="guideline"))


@login_required
@require_http_methods(["GET", "POST"])
def members_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request, project_id, CONFIGURE)
    if request.method == "POST":
        action, p = request.POST.get("action", ""), request.POST
        try:
            if action == "add":
                m = settings_services.member_add(project=project, username=p.get("username", ""),
                                                 role=p.get("role", ""))
                messages.success(request, f"{m.user.get_username()} is now {m.get_role_display().lower()}.")
            elif action in ("role", "remove"):
                membership = get_object_or_404(Membership, project=project, pk=p.get("id"))
                name = membership.user.get_username()
                if action == "role":
                    m = settings_services.member_role_set(membership=membership, role=p.get("role", ""))
                    messages.success(request, f"{name} is now {m.get_role_display().lower()}.")
                else:
                    settings_services.member_remove(membership=membership)
                    messages.success(request, f"{name} is no longer a member; their annotations stay.")
            else:
                messages.error(request, "Unknown action.")
        except DomainError as exc:
            messages.error(request, exc.message)
        if request.user.is_superuser or Membership.objects.filter(project=project, user=request.user,
                                                                   role=Role.ADMIN).exists():
            return redirect("members-settings", project_id=project.pk)
        return redirect("project-detail", project_id=project.pk)  # the admin gave up their own admin role
    members = Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    return render(request, "annotation/settings_members.html", template_ctx(
        project, role, members=members, roles=Role.choices, here="settings", tab="members"))


@login_required
@require_http_methods(["POST"])
def training_start(request: HttpRequest, project_id: int) -> HttpResponse:
    """The overview's "Train now": queue a training (or point at the one already running)."""
    from annotation.models import RUNNING_MODEL_STATUSES, ModelVersion
    from annotation.services import model_versions as model_services

    project, role = project_for(request, project_id, CONFIGURE)
    already = ModelVersion.objects.filter(project=project, status__in=RUNNING_MODEL_STATUSES).first()
    version = model_services.training_request(project=project, user=request.user,
                                              reason=f"requested by {request.user.get_username()} on the overview")
    if already is not None:
        messages.info(request, f"Version {version.number} is already {version.get_status_display().lower()}.")
    else:
        messages.success(request, f"Training of version {version.number} queued; its progress shows below.")
    return redirect("project-detail", project_id=project.pk)
