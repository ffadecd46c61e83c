"""Server-rendered pages. The REST API lives under ``/api/`` (``annotation.api.urls``)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

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
]

# Review / adjudication (curators) and settings pages (admins).
from . import views_review, views_settings  # noqa: E402

urlpatterns += [
    path(P + "review/", views_review.review_list, name="review-list"),
    path(P + "sentences/<int:sentence_id>/review/", views_review.review_sentence, name="review-sentence"),
    path(P + "settings/", views_settings.project_settings, name="project-settings"),
    path(P + "settings/schema/", views_settings.schema_settings, name="schema-settings"),
    path(P + "settings/guideline/", views_settings.guideline_edit, name="guideline-edit"),
    path(P + "guideline/", views_settings.guideline_show, name="guideline"),
]
urlpatterns += [path(P + "settings/members/", views_settings.members_settings, name="members-settings")]
urlpatterns += [path(P + "train/", views_settings.training_start, name="training-start")]
