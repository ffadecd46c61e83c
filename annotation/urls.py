"""Server-rendered pages. The REST API lives under ``/api/`` (``annotation.api.urls``)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import dashboard, editor, export, projects, review, settings

P = "projects/<int:project_id>/"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", projects.project_list, name="project-list"),
    path(P, projects.project_detail, name="project-detail"),
    path(P + "documents/<int:document_id>/", projects.document_detail, name="document-detail"),
    path(P + "import/", projects.import_create, name="import-create"),
    path(P + "imports/<int:job_id>/", projects.import_detail, name="import-detail"),
    path(P + "export/", export.export, name="export"),
    path(P + "exports/<int:export_id>/download/", export.export_download, name="export-download"),
    path(P + "dashboard/", dashboard.project_dashboard, name="project-dashboard"),
    path(P + "dashboard/webhook/", dashboard.dashboard_webhook, name="dashboard-webhook"),
    # The annotation page (annotators, curators, admins; read-only for viewers).
    path(P + "annotate/", editor.annotate_next, name="annotate-next"),
    path(P + "sentences/<int:sentence_id>/annotate/", editor.annotate_sentence, name="annotate-sentence"),
    path(P + "sentences/<int:sentence_id>/skip/", editor.annotate_skip, name="annotate-skip"),
    # Review / adjudication (curators).
    path(P + "review/", review.review_list, name="review-list"),
    path(P + "sentences/<int:sentence_id>/review/", review.review_sentence, name="review-sentence"),
    # Settings (admins) and the guideline (everyone in the project).
    path(P + "settings/", settings.project_settings, name="project-settings"),
    path(P + "settings/schema/", settings.schema_settings, name="schema-settings"),
    path(P + "settings/guideline/", settings.guideline_edit, name="guideline-edit"),
    path(P + "settings/members/", settings.members_settings, name="members-settings"),
    path(P + "guideline/", settings.guideline_show, name="guideline"),
    path(P + "train/", settings.training_start, name="training-start"),
]
