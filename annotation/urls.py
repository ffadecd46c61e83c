"""Server-rendered pages. The REST API lives under ``/api/`` (``annotation.api.urls``)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_editor, views_review, views_settings

P = "projects/<int:project_id>/"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.project_list, name="project-list"),
    path(P, views.project_detail, name="project-detail"),
    path(P + "documents/<int:document_id>/", views.document_detail, name="document-detail"),
    path(P + "import/", views.import_create, name="import-create"),
    path(P + "imports/<int:job_id>/", views.import_detail, name="import-detail"),
    path(P + "export/", views.export, name="export"),
    path(P + "exports/<int:export_id>/download/", views.export_download, name="export-download"),
    path(P + "dashboard/", views.project_dashboard, name="project-dashboard"),
    path(P + "dashboard/webhook/", views.dashboard_webhook, name="dashboard-webhook"),
    # The annotation page (annotators, curators, admins; read-only for viewers).
    path(P + "annotate/", views_editor.annotate_next, name="annotate-next"),
    path(P + "sentences/<int:sentence_id>/annotate/", views_editor.annotate_sentence, name="annotate-sentence"),
    path(P + "sentences/<int:sentence_id>/skip/", views_editor.annotate_skip, name="annotate-skip"),
    # Review / adjudication (curators).
    path(P + "review/", views_review.review_list, name="review-list"),
    path(P + "sentences/<int:sentence_id>/review/", views_review.review_sentence, name="review-sentence"),
    # Settings (admins) and the guideline (everyone in the project).
    path(P + "settings/", views_settings.project_settings, name="project-settings"),
    path(P + "settings/schema/", views_settings.schema_settings, name="schema-settings"),
    path(P + "settings/guideline/", views_settings.guideline_edit, name="guideline-edit"),
    path(P + "settings/members/", views_settings.members_settings, name="members-settings"),
    path(P + "guideline/", views_settings.guideline_show, name="guideline"),
    path(P + "train/", views_settings.training_start, name="training-start"),
]
