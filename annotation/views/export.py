"""The export page: queue an export job and download its result."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from annotation import services
from annotation.errors import DomainError
from annotation.forms import ExportForm
from annotation.loop import dashboard
from annotation.models import (
    CorpusExport,
    JobStatus,
    ModelVersion,
    Project,
)
from annotation.views.common import (
    EXPORT,
    project_for,
    template_ctx,
)


def _export_versions(project: Project) -> list[tuple[int, str]]:
    return list(ModelVersion.objects.filter(project=project, predictions__isnull=False).distinct()
                .order_by("-number").values_list("number", "status"))


@login_required
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest, project_id: int) -> HttpResponse:
    """The export form and the project's recorded exports. Submitting queues the export on a worker (a
    large corpus would outlast the request); the list shows each one's manifest and download link."""
    project, role = project_for(request, project_id, EXPORT)
    form = ExportForm(request.POST if request.method == "POST" else (request.GET if "format" in request.GET else None),
                      versions=_export_versions(project))
    if request.method == "POST" and form.is_valid():
        try:
            job = services.export_job_create(project=project, user=request.user, fmt=form.cleaned_data["format"],
                                             options=form.options())
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Export {job.pk} queued; it appears below with a download link when ready.")
            return redirect("export", project_id=project.pk)
    exports = dashboard.exports_of(project=project)
    return render(request, "annotation/export_form.html", template_ctx(
        project, role, form=form, exports=exports,
        running=any(e.status in (JobStatus.PENDING, JobStatus.RUNNING) for e in exports),
        api_url=reverse("api-export", kwargs={"project_id": project.pk}),
    ))


@login_required
def export_download(request: HttpRequest, project_id: int, export_id: int) -> HttpResponse:
    project, _ = project_for(request, project_id, EXPORT)
    job = get_object_or_404(CorpusExport, project=project, pk=export_id)
    if job.status != JobStatus.SUCCEEDED or not job.file:
        raise Http404("This export has no file (yet).")
    name = services.export_filename(project=project, fmt=job.format, split=(job.options or {}).get("split"))
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=name, content_type="application/zip")


