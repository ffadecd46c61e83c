"""Project roles. A user who is not a member of a project gets 404 for everything in it."""

from __future__ import annotations

from django.http import Http404
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from annotation.models import Membership, Project, Role

READ_ROLES: frozenset[str] = frozenset(Role.values)
WRITE_OWN: frozenset[str] = frozenset({Role.ADMIN, Role.CURATOR, Role.ANNOTATOR})
CURATE: frozenset[str] = frozenset({Role.ADMIN, Role.CURATOR})
ADMIN: frozenset[str] = frozenset({Role.ADMIN})


class ProjectRole(BasePermission):
    """Resolves ``project_id`` from the URL, 404s non-members, then checks the view's roles.

    Views declare ``roles`` (for every method) or ``roles_by_method`` ({"GET": ..., "PUT": ...}).
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        project_id = view.kwargs.get("project_id")
        # One query for the common case: the membership row brings its project along.
        membership = Membership.objects.select_related("project").filter(
            project_id=project_id, user=request.user).first()
        if membership is not None:
            project, role = membership.project, membership.role
        elif request.user.is_superuser:
            project = Project.objects.filter(pk=project_id).first()
            role = Role.ADMIN
        else:
            project, role = None, None
        if project is None or role is None:
            raise Http404
        view.project = project  # type: ignore[attr-defined]
        view.role = role  # type: ignore[attr-defined]
        by_method = getattr(view, "roles_by_method", None)
        allowed = by_method.get(request.method, frozenset()) if by_method else getattr(view, "roles", READ_ROLES)
        if request.method == "OPTIONS" or request.method == "HEAD":
            allowed = READ_ROLES
        return role in allowed
