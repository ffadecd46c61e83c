"""Projects, memberships and the label schema."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.errors import InvalidInput
from annotation.models import EntityType, Membership, Project, RelationType, Role

from .annotations import queue_release

# Used for entity types created on the fly by an import; cycled in order.
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
]


@transaction.atomic
def project_create(
    *,
    name: str,
    created_by: AbstractBaseUser | None = None,
    description: str = "",
    guideline: str = "",
    schema: dict[str, Any] | None = None,
    **settings: Any,
) -> Project:
    """Create a project; its creator becomes its admin. ``settings`` are Project fields."""
    project = Project(name=name, description=description, guideline=guideline,
                      created_by=created_by, **settings)
    project.full_clean()
    if project.model_config:
        from .project_settings import model_config_check  # it imports this module

        model_config_check(architecture=project.architecture, config=project.model_config)
    project.save()
    if created_by is not None:
        membership_set(project=project, user=created_by, role=Role.ADMIN)
    if schema:
        schema_apply(project=project, schema=schema)
    return project


@transaction.atomic
def membership_set(*, project: Project, user: AbstractBaseUser, role: str) -> Membership:
    """Give ``user`` the ``role`` in ``project`` (creating or changing the membership)."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}; expected one of {', '.join(Role.values)}.")
    membership, _ = Membership.objects.update_or_create(project=project, user=user, defaults={"role": role})
    if role == Role.VIEWER:  # a viewer annotates nothing: what the queue held for them goes back
        queue_release(project=project, user=user)
    return membership


def _entity_type_create(*, project: Project, name: str, colour: str | None = None, hotkey: str = "") -> EntityType:
    count = EntityType.objects.filter(project=project).count()
    et = EntityType(project=project, name=name, colour=colour or PALETTE[count % len(PALETTE)],
                    hotkey=hotkey, position=count)
    et.full_clean()
    et.save()
    return et


@transaction.atomic
def schema_apply(*, project: Project, schema: dict[str, Any]) -> None:
    """Create or update entity and relation types from a schema dict.

    ``{"entity_types": [{"name", "colour"?, "hotkey"?}], "relation_types": [{"name", "symmetric"?,
    "allowed_heads"?: [names] | null, "allowed_tails"?: [names] | null}]}``. Types not named are kept.
    """
    existing = {et.name: et for et in EntityType.objects.filter(project=project)}
    for i, spec in enumerate(schema.get("entity_types", [])):
        spec = {"name": spec} if isinstance(spec, str) else spec
        name = str(spec.get("name", "")).strip()
        if not name:
            raise InvalidInput(f"entity_types[{i}]: a name is required.")
        et = existing.get(name)
        if et is None:
            existing[name] = _entity_type_create(project=project, name=name, colour=spec.get("colour"),
                                                 hotkey=spec.get("hotkey", "") or "")
        else:
            et.colour = spec.get("colour", et.colour)
            et.hotkey = spec.get("hotkey", et.hotkey) or ""
            et.full_clean()
            et.save()
    rel_existing = {rt.name: rt for rt in RelationType.objects.filter(project=project)}
    for i, spec in enumerate(schema.get("relation_types", [])):
        spec = {"name": spec} if isinstance(spec, str) else spec
        name = str(spec.get("name", "")).strip()
        if not name:
            raise InvalidInput(f"relation_types[{i}]: a name is required.")
        rt = rel_existing.get(name) or RelationType(project=project, name=name, position=len(rel_existing))
        rt.symmetric = bool(spec.get("symmetric", rt.symmetric))
        rt.full_clean()
        rt.save()
        rel_existing[name] = rt
        for field in ("allowed_heads", "allowed_tails"):
            names = spec.get(field)
            if names is None:
                continue
            unknown = [n for n in names if n not in existing]
            if unknown:
                raise InvalidInput(f"relation type {name}: {field} names unknown entity types {unknown}.")
            getattr(rt, field).set([existing[n] for n in names])


def schema_as_dict(*, project: Project) -> dict[str, Any]:
    """The project's schema in the shape ``schema_apply`` takes."""
    rts = RelationType.objects.filter(project=project).prefetch_related("allowed_heads", "allowed_tails")
    return {
        "entity_types": [
            {"name": et.name, "colour": et.colour, "hotkey": et.hotkey}
            for et in EntityType.objects.filter(project=project)
        ],
        "relation_types": [
            {
                "name": rt.name,
                "symmetric": rt.symmetric,
                "allowed_heads": [e.name for e in rt.allowed_heads.all()] or None,
                "allowed_tails": [e.name for e in rt.allowed_tails.all()] or None,
            }
            for rt in rts
        ],
    }
