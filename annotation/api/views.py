"""REST API: one view per operation, everything scoped under ``projects/<id>/``."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors, services
from annotation.errors import InvalidInput
from annotation.models import Annotation, Document, ImportJob, Membership, ModelVersion, Role, Sentence
from annotation.services import model_versions as model_services
from annotation.services import project_settings

from . import serializers as s
from .permissions import ADMIN, CURATE, READ_ROLES, WRITE_OWN, ProjectRole


class TokenObtainApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=s.TokenInput, responses={200: dict})
    def post(self, request: Request) -> Response:
        data = s.TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            return Response({"code": "invalid_credentials", "detail": "Wrong username or password."}, status=400)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class ProjectListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.ProjectOutput(many=True))
    def get(self, request: Request) -> Response:
        projects = selectors.project_list_for(user=request.user)
        return Response(s.ProjectOutput(projects, many=True).data)


class ProjectCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.ProjectInput, responses={201: s.ProjectOutput})
    def post(self, request: Request) -> Response:
        data = s.ProjectInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(created_by=request.user, **data.validated_data)
        return Response(s.ProjectOutput(project).data, status=status.HTTP_201_CREATED)


class ProjectApiBase(APIView):
    permission_classes = [IsAuthenticated, ProjectRole]
    project: Any
    role: str


class ProjectDetailApi(ProjectApiBase):
    roles_by_method = {"GET": READ_ROLES, "PATCH": ADMIN}

    @extend_schema(responses=s.ProjectOutput)
    def get(self, request: Request, project_id: int) -> Response:
        return Response(s.ProjectOutput(self.project).data | {"role": self.role})

    @extend_schema(request=s.ProjectInput, responses=s.ProjectOutput)
    def patch(self, request: Request, project_id: int) -> Response:
        data = s.ProjectInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        # settings go through the settings page's service (its checks, the queue refresh); name and guideline here
        settings = {k: values.pop(k) for k in list(values) if k in project_settings.SETTINGS_FIELDS}
        with transaction.atomic():
            if settings:
                project_settings.project_settings_update(project=self.project, **settings)
            if values:
                for key, value in values.items():
                    setattr(self.project, key, value)
                if "guideline" in values:
                    self.project.guideline_version += 1
                self.project.full_clean()
                self.project.save(update_fields=[*values, *(["guideline_version"] if "guideline" in values else [])])
        return Response(s.ProjectOutput(self.project).data)


class SchemaApi(ProjectApiBase):
    roles_by_method = {"GET": READ_ROLES, "PUT": ADMIN}

    @extend_schema(responses=s.SchemaSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        return Response(services.schema_as_dict(project=self.project))

    @extend_schema(request=s.SchemaSerializer, responses=s.SchemaSerializer)
    def put(self, request: Request, project_id: int) -> Response:
        data = s.SchemaSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.schema_apply(project=self.project, schema=data.validated_data)
        return Response(services.schema_as_dict(project=self.project))


class MemberListApi(ProjectApiBase):
    roles_by_method = {"GET": READ_ROLES, "POST": ADMIN}

    @extend_schema(responses=s.MembershipOutput(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        members = Membership.objects.filter(project=self.project).select_related("user").order_by("user__username")
        return Response(s.MembershipOutput(members, many=True).data)

    @extend_schema(request=s.MembershipInput, responses={201: s.MembershipOutput})
    def post(self, request: Request, project_id: int) -> Response:
        data = s.MembershipInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=data.validated_data["username"]).first()
        if user is None:
            raise InvalidInput(f"No user named {data.validated_data['username']!r}.")
        membership = services.membership_set(project=self.project, user=user, role=data.validated_data["role"])
        return Response(s.MembershipOutput(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(ProjectApiBase):
    roles = ADMIN

    @extend_schema(request=s.RoleInput, responses=s.MembershipOutput)
    def patch(self, request: Request, project_id: int, user_id: int) -> Response:
        membership = get_object_or_404(Membership, project=self.project, user_id=user_id)
        data = s.RoleInput(data=request.data)
        data.is_valid(raise_exception=True)
        # the project settings services: they lock the admins, so two admins demoting each other at once
        # cannot leave the project without one
        membership = project_settings.member_role_set(membership=membership, role=data.validated_data["role"])
        return Response(s.MembershipOutput(membership).data)

    def delete(self, request: Request, project_id: int, user_id: int) -> Response:
        membership = get_object_or_404(Membership, project=self.project, user_id=user_id)
        project_settings.member_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentListApi(ProjectApiBase):
    roles = READ_ROLES

    @extend_schema(
        parameters=[OpenApiParameter("split", str, required=False), OpenApiParameter("q", str, required=False)],
        responses=s.DocumentOutput(many=True),
    )
    def get(self, request: Request, project_id: int) -> Response:
        docs = Document.objects.filter(project=self.project).order_by("external_id")
        if request.query_params.get("split"):
            docs = docs.filter(split=request.query_params["split"])
        if request.query_params.get("q"):
            docs = docs.filter(external_id__icontains=request.query_params["q"])
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(docs, request, view=self)
        return paginator.get_paginated_response(s.DocumentOutput(page, many=True).data)


class DocumentDetailApi(ProjectApiBase):
    roles = READ_ROLES

    @extend_schema(responses=s.DocumentDetailOutput)
    def get(self, request: Request, project_id: int, document_id: int) -> Response:
        doc = get_object_or_404(Document.objects.prefetch_related("sentences"), project=self.project, pk=document_id)
        return Response(s.DocumentDetailOutput(doc).data)


def _sentence(project: Any, sentence_id: int) -> Sentence:
    sentence = get_object_or_404(Sentence.objects.select_related("document"), project=project, pk=sentence_id)
    sentence.project = project  # the permission check loaded it already
    return sentence


class SentenceDetailApi(ProjectApiBase):
    roles = READ_ROLES

    @extend_schema(responses=s.SentenceDetailOutput)
    def get(self, request: Request, project_id: int, sentence_id: int) -> Response:
        sentence = _sentence(self.project, sentence_id)
        return Response(selectors.sentence_detail(sentence=sentence, user=request.user, role=self.role))


class MyAnnotationApi(ProjectApiBase):
    """The requesting user's own annotation of a sentence."""

    roles_by_method = {"GET": WRITE_OWN, "PUT": WRITE_OWN}
    gold = False

    def _current(self, sentence: Sentence) -> Annotation | None:
        annotator = None if self.gold else self.request.user
        return Annotation.objects.filter(sentence=sentence, annotator=annotator).first()

    @extend_schema(responses=s.AnnotationOutput)
    def get(self, request: Request, project_id: int, sentence_id: int) -> Response:
        annotation = self._current(_sentence(self.project, sentence_id))
        if annotation is None:
            raise Http404("No annotation yet (save one with version 0).")
        return Response(selectors.annotation_state(annotation=annotation))

    @extend_schema(request=s.AnnotationInput, responses={200: s.AnnotationOutput, 409: s.AnnotationOutput})
    def put(self, request: Request, project_id: int, sentence_id: int) -> Response:
        sentence = _sentence(self.project, sentence_id)
        data = s.AnnotationInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        annotation = services.annotation_save(
            sentence=sentence, actor=request.user, gold=self.gold, version=v["version"], mentions=v["mentions"],
            relations=v["relations"], groups=v["groups"], status=v["status"],
            client_id=v["client_id"], client_seq=v["client_seq"],
        )
        state = annotation.written_state  # what was just written (None when the save was a no-op)
        return Response(state if state is not None else selectors.annotation_state(annotation=annotation))


class GoldAnnotationApi(MyAnnotationApi):
    """The curated gold annotation of a sentence: curators and admins write it."""

    roles_by_method = {"GET": READ_ROLES, "PUT": CURATE}
    gold = True


class SubmitApi(ProjectApiBase):
    roles = WRITE_OWN

    @extend_schema(request=s.SubmitInput, responses=s.AnnotationOutput)
    def post(self, request: Request, project_id: int, sentence_id: int) -> Response:
        data = s.SubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        annotation = services.annotation_submit(sentence=_sentence(self.project, sentence_id), actor=request.user,
                                                version=data.validated_data["version"])
        return Response(selectors.annotation_state(annotation=annotation))


class QueueNextApi(ProjectApiBase):
    roles = WRITE_OWN

    @extend_schema(
        responses={200: s.QueueNextOutput, 204: None},
        description="Your next sentence (your unfinished draft first, then the project's queue strategy), with "
        "its context and the annotations you may see; 204 when nothing is left for you. The sentence is reserved "
        "for you until you ask again or TRIALMARK_QUEUE_RESERVE_MINUTES pass, so annotators asking at the same "
        "time get different sentences.",
    )
    def get(self, request: Request, project_id: int) -> Response:
        sentence = services.next_sentence_for(project=self.project, user=request.user)
        if sentence is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        # The whole sentence comes along, so "give me my next sentence" is one round trip.
        sentence.project = self.project
        detail = selectors.sentence_detail(sentence=sentence, user=request.user, role=self.role)
        return Response(detail | {"strategy": self.project.queue_strategy})


class ImportCreateApi(ProjectApiBase):
    roles = ADMIN
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=s.ImportInput, responses={202: s.ImportJobOutput})
    def post(self, request: Request, project_id: int) -> Response:
        data = s.ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        job = services.import_job_create(
            project=self.project, user=request.user, upload=v["file"], fmt=v["format"],
            options={"as_gold": v["as_gold"], "split": v["split"], "text_mode": v["text_mode"]},
        )
        return Response(s.ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(ProjectApiBase):
    roles = ADMIN

    @extend_schema(responses=s.ImportJobOutput)
    def get(self, request: Request, project_id: int, job_id: int) -> Response:
        job = get_object_or_404(ImportJob, project=self.project, pk=job_id)
        return Response(s.ImportJobOutput(job).data)


class ExportApi(ProjectApiBase):
    roles = frozenset({Role.ADMIN, Role.CURATOR, Role.VIEWER})

    @extend_schema(parameters=[s.ExportQuery], responses={(200, "application/zip"): bytes})
    def get(self, request: Request, project_id: int) -> FileResponse:
        query = s.ExportQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = dict(query.validated_data)
        fmt = q.pop("format")
        zip_path, _ = services.corpus_export_zip(project=self.project, fmt=fmt, user=request.user, **q)
        handle = open(zip_path, "rb")  # noqa: SIM115 - FileResponse closes it when streamed
        os.unlink(zip_path)  # the open handle keeps the data until the response is done
        name = services.export_filename(project=self.project, fmt=fmt, split=q.get("split"))
        return FileResponse(handle, as_attachment=True, filename=name, content_type="application/zip")


class ModelVersionListApi(ProjectApiBase):
    """The project's model versions (status, progress, metrics); POST asks for a training."""

    roles_by_method = {"GET": READ_ROLES, "POST": ADMIN}

    @extend_schema(responses=s.ModelVersionOutput(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        versions = selectors.model_versions_of(project=self.project)
        return Response(s.ModelVersionOutput(versions, many=True).data)

    @extend_schema(request=s.TrainingRequestInput, responses={202: s.ModelVersionOutput})
    def post(self, request: Request, project_id: int) -> Response:
        data = s.TrainingRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = model_services.training_request(project=self.project, user=request.user,
                                                  reason=data.validated_data["reason"],
                                                  config=data.validated_data["config"])
        return Response(s.ModelVersionOutput(version).data, status=status.HTTP_202_ACCEPTED)


class ModelVersionPromoteApi(ProjectApiBase):
    roles = ADMIN

    @extend_schema(request=None, responses=s.ModelVersionOutput)
    def post(self, request: Request, project_id: int, version_id: int) -> Response:
        version = get_object_or_404(ModelVersion, project=self.project, pk=version_id)
        version = model_services.version_promote(version=version, user=request.user)
        return Response(s.ModelVersionOutput(version).data)


class SuggestionsApi(ProjectApiBase):
    """The active model's suggestions for one sentence."""

    roles = READ_ROLES

    @extend_schema(responses=s.SuggestionOutput)
    def get(self, request: Request, project_id: int, sentence_id: int) -> Response:
        sentence = _sentence(self.project, sentence_id)
        return Response(selectors.sentence_suggestions(sentence=sentence))


class SuggestionDecisionApi(ProjectApiBase):
    """Record the requesting user's accept/reject decisions on the model's suggestions for a sentence."""

    roles = WRITE_OWN

    @extend_schema(request=s.SuggestionDecisionInput, responses=s.SuggestionDecisionOutput)
    def post(self, request: Request, project_id: int, sentence_id: int) -> Response:
        sentence = _sentence(self.project, sentence_id)
        data = s.SuggestionDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = ModelVersion.objects.filter(project=self.project, number=data.validated_data["model_version"]).first()
        if version is None:
            raise InvalidInput(f"No model version {data.validated_data['model_version']} in this project.")
        services.suggestion_decide(sentence=sentence, actor=request.user, model_version=version,
                                   decisions=[dict(d) for d in data.validated_data["decisions"]])
        decisions = selectors.suggestion_decisions_of(sentence=sentence, user=request.user, model_version_id=version.pk)
        return Response({"model_version": version.number, "decisions": decisions})
