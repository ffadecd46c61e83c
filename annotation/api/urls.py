from django.urls import path

from . import views as v

P = "projects/<int:project_id>/"

urlpatterns = [
    path("auth/token/", v.TokenObtainApi.as_view(), name="api-token"),
    path("projects/", v.ProjectListApi.as_view(), name="api-project-list"),
    path("projects/create/", v.ProjectCreateApi.as_view(), name="api-project-create"),
    path(P, v.ProjectDetailApi.as_view(), name="api-project-detail"),
    path(P + "schema/", v.SchemaApi.as_view(), name="api-schema"),
    path(P + "members/", v.MemberListApi.as_view(), name="api-member-list"),
    path(P + "members/<int:user_id>/", v.MemberDetailApi.as_view(), name="api-member-detail"),
    path(P + "documents/", v.DocumentListApi.as_view(), name="api-document-list"),
    path(P + "documents/<int:document_id>/", v.DocumentDetailApi.as_view(), name="api-document-detail"),
    path(P + "sentences/<int:sentence_id>/", v.SentenceDetailApi.as_view(), name="api-sentence-detail"),
    path(P + "sentences/<int:sentence_id>/annotation/", v.MyAnnotationApi.as_view(), name="api-my-annotation"),
    path(P + "sentences/<int:sentence_id>/gold/", v.GoldAnnotationApi.as_view(), name="api-gold-annotation"),
    path(P + "sentences/<int:sentence_id>/submit/", v.SubmitApi.as_view(), name="api-submit"),
    path(P + "queue/next/", v.QueueNextApi.as_view(), name="api-queue-next"),
    path(P + "imports/", v.ImportCreateApi.as_view(), name="api-import-create"),
    path(P + "imports/<int:job_id>/", v.ImportDetailApi.as_view(), name="api-import-detail"),
    path(P + "export/", v.ExportApi.as_view(), name="api-export"),
    path(P + "models/", v.ModelVersionListApi.as_view(), name="api-model-list"),
    path(P + "models/<int:version_id>/promote/", v.ModelVersionPromoteApi.as_view(), name="api-model-promote"),
    path(P + "sentences/<int:sentence_id>/suggestions/", v.SuggestionsApi.as_view(), name="api-suggestions"),
    path(P + "sentences/<int:sentence_id>/suggestions/decisions/", v.SuggestionDecisionApi.as_view(),
         name="api-suggestion-decisions"),
]
