"""The project dashboard page and its webhook form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from annotation import services
from annotation.errors import DomainError
from annotation.forms import WebhookForm
from annotation.loop import dashboard
from annotation.models import (
    ModelStatus,
    ModelVersion,
)
from annotation.views.common import (
    CONFIGURE,
    MONITOR,
    project_for,
    template_ctx,
)


@login_required
def project_dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    """Model quality over versions, calibration, suggestion outcomes, annotator progress and agreement."""
    project, role = project_for(request, project_id, MONITOR)
    history = dashboard.version_history(project=project)
    active = ModelVersion.objects.filter(project=project, status=ModelStatus.ACTIVE).first()
    chosen_number = request.GET.get("version", "")
    chosen = None
    if chosen_number.isdigit():
        chosen = ModelVersion.objects.filter(project=project, number=int(chosen_number)).first()
    if chosen is None:
        chosen = active or ModelVersion.objects.filter(project=project).exclude(metrics={}).order_by("-number").first()
    per_type = dashboard.version_per_type(version=chosen)
    calibration = dashboard.calibration_of(version=active)
    suggestions = dashboard.suggestion_rates(project=project)
    progress = dashboard.annotator_progress(project=project)
    agreement = dashboard.agreement_summary(project=project)
    charts = {
        "history": [{k: r[k] for k in ("number", "status", "entity_f1", "relation_f1", "trained_on")}
                    | {"date": r["created_at"].strftime("%Y-%m-%d")} for r in history],
        "per_type": per_type, "calibration": calibration,
        "suggestions": [r for r in suggestions if r["type"] != "(all types)"],
        "throughput": progress["annotators"],
    }
    return render(request, "annotation/dashboard.html", template_ctx(
        project, role, history=list(reversed(history)), active=active, chosen=chosen, per_type=per_type,
        calibration=calibration, suggestions=suggestions, progress=progress, agreement=agreement,
        alerts=dashboard.recent_alerts(project=project), charts=charts,
        versions_with_metrics=[r["number"] for r in reversed(history) if r["entity_f1"] is not None],
        webhook_form=WebhookForm(initial={"alert_webhook_url": project.alert_webhook_url}),
    ))


@login_required
@require_http_methods(["POST"])
def dashboard_webhook(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = project_for(request, project_id, CONFIGURE)
    form = WebhookForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    else:
        try:
            services.project_webhook_set(project=project, url=form.cleaned_data["alert_webhook_url"] or "")
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Alert webhook saved." if project.alert_webhook_url else "Alert webhook removed.")
    return redirect("project-dashboard", project_id=project.pk)
