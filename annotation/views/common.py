"""What every page shares: the project and the user's role in it, and the template context."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest

from annotation import selectors
from annotation.models import (
    Project,
    Role,
)

CONFIGURE = frozenset({Role.ADMIN})
EXPORT = frozenset({Role.ADMIN, Role.CURATOR, Role.VIEWER})
# The dashboard names annotators and their agreement: for those who lead the work, not for annotators.
MONITOR = frozenset({Role.ADMIN, Role.CURATOR, Role.VIEWER})
CURATE = frozenset({Role.ADMIN, Role.CURATOR})
DOCUMENTS_PER_PAGE = 50


def project_for(request: HttpRequest, project_id: int, allowed: frozenset[Any] | None = None) -> tuple[Project, str]:
    """The project and the user's role in it: 404 for non-members (as if it did not exist), 403 for a
    member whose role may not do this."""
    project = Project.objects.filter(pk=project_id).first()
    role = selectors.role_of(user=request.user, project=project) if project is not None else None
    if project is None or role is None:
        raise Http404("No such project.")
    if allowed is not None and role not in allowed:
        raise PermissionDenied(f"Your role ({role}) may not do this in {project.name}.")
    return project, role


def _count(grouped: Any) -> Coalesce:
    """A correlated ``COUNT(*)`` of ``grouped`` (filtered on ``OuterRef`` and reduced with ``.values()``
    to the outer key) as an annotation; 0 where there are none."""
    rows = grouped.order_by().annotate(_n=Count("pk")).values("_n")[:1]
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def template_ctx(project: Project | None = None, role: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"project": project, "role": role, "can_configure": role in CONFIGURE, "can_export": role in EXPORT,
            "can_monitor": role in MONITOR, "can_review": role in CURATE,
            **extra}


