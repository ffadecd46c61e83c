"""What project admins configure: the project's settings, its guideline, the label schema one type at a
time (add, rename, recolour, restrict, delete when unused) and the members' roles.

Refusals are ``InvalidInput`` (``NotAllowed`` for removing the last admin) with a message that says what to do;
nothing is half-written.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from annotation.errors import InvalidInput, NotAllowed
from annotation.models import (
    EntityType,
    Membership,
    Mention,
    Project,
    Relation,
    RelationType,
    Role,
    SentencePrediction,
)

from .annotations import queue_refresh, queue_release
from .projects import _entity_type_create, membership_set

SETTINGS_FIELDS = (
    "description", "queue_strategy", "annotators_per_sentence", "annotators_see_others", "allow_new_labels",
    "retrain_min_new_gold", "promotion_tolerance", "architecture", "encoder", "model_config",
)


def _clean(obj: Any) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v)
                                     for k, v in exc.message_dict.items())) from None


@transaction.atomic
def project_settings_update(*, project: Project, **values: Any) -> Project:
    """Change the project's settings (``SETTINGS_FIELDS``); returns the saved project."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
    for key, value in values.items():
        setattr(project, key, value)
    _clean(project)
    if "model_config" in values or "architecture" in values:
        model_config_check(architecture=project.architecture, config=project.model_config)
    project.save(update_fields=list(values))
    if "annotators_per_sentence" in values:
        queue_refresh(project_id=project.pk)
    return project


def model_config_check(*, architecture: str, config: Any) -> None:
    """Refuse (``InvalidInput``) a model config the architecture would not train with."""
    from mlcore.registry import check_config

    try:
        check_config(architecture, config)
    except ValueError as exc:
        raise InvalidInput(f"Model config for {architecture}: {exc}") from None


@transaction.atomic
def project_guideline_set(*, project: Project, guideline: str) -> Project:
    """Replace the guideline (Markdown); its version goes up when the text changes."""
    if guideline != project.guideline:
        project.guideline = guideline
        project.guideline_version += 1
        project.save(update_fields=["guideline", "guideline_version"])
    return project


_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _check_colour(colour: str) -> str:
    colour = (colour or "").strip()
    if colour and not _COLOUR.match(colour):
        raise InvalidInput(f"{colour!r} is not a colour; write it as #rrggbb.")
    return colour.lower()


def _check_hotkey(*, project: Project, hotkey: str, exclude: int | None = None) -> str:
    hotkey = (hotkey or "").strip().lower()
    if len(hotkey) > 1:
        raise InvalidInput("A hotkey is one character.")
    if hotkey:
        clash = EntityType.objects.filter(project=project, hotkey=hotkey).exclude(pk=exclude).first()
        if clash is not None:
            raise InvalidInput(f"Hotkey {hotkey!r} is already used by {clash.name}.")
    return hotkey


@transaction.atomic
def entity_type_add(*, project: Project, name: str, colour: str = "", hotkey: str = "") -> EntityType:
    """A new entity type; without a colour it takes the next one of the palette."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("An entity type needs a name.")
    if EntityType.objects.filter(project=project, name=name).exists():
        raise InvalidInput(f"There is already an entity type named {name}.")
    hotkey = _check_hotkey(project=project, hotkey=hotkey)
    colour = _check_colour(colour)
    try:
        return _entity_type_create(project=project, name=name, colour=colour or None, hotkey=hotkey)
    except ValidationError as exc:
        raise InvalidInput("; ".join(" ".join(v) for v in exc.message_dict.values())) from None


def _rename_in_predictions(*, project: Project, field: str, old: str, new: str) -> int:
    """Stored model predictions name types by name: follow a rename so suggestions keep matching."""
    changed = 0
    preds = SentencePrediction.objects.filter(model_version__project=project)
    # Checked in Python: JSON containment lookups are not available on SQLite (the embedded default).
    for pred in preds.only("pk", field).iterator(chunk_size=2000):
        items = getattr(pred, field) or []
        if not any(item.get("type") == old for item in items):
            continue
        for item in items:
            if item.get("type") == old:
                item["type"] = new
        SentencePrediction.objects.filter(pk=pred.pk).update(**{field: items})
        changed += 1
    return changed


@transaction.atomic
def entity_type_update(*, entity_type: EntityType, name: str, colour: str, hotkey: str = "") -> EntityType:
    """Rename, recolour or re-key an entity type. Mentions refer to the type, so they follow a rename;
    the stored model predictions are renamed too."""
    et = EntityType.objects.select_for_update().get(pk=entity_type.pk)
    project = et.project
    name = (name or "").strip()
    if not name:
        raise InvalidInput("An entity type needs a name.")
    if name != et.name and EntityType.objects.filter(project=project, name=name).exists():
        raise InvalidInput(f"There is already an entity type named {name}.")
    old = et.name
    et.name, et.colour = name, _check_colour(colour) or et.colour
    et.hotkey = _check_hotkey(project=project, hotkey=hotkey, exclude=et.pk)
    _clean(et)
    et.save()
    if old != name:
        _rename_in_predictions(project=project, field="mentions", old=old, new=name)
    return et


@transaction.atomic
def entity_type_delete(*, entity_type: EntityType) -> None:
    """Delete an entity type that nothing uses; otherwise say what uses it."""
    et = EntityType.objects.select_for_update().get(pk=entity_type.pk)
    used = Mention.objects.filter(entity_type=et)
    n = used.count()
    if n:
        n_sentences = used.values("annotation__sentence").distinct().count()
        raise InvalidInput(f"{et.name} is used by {n} mention(s) in {n_sentences} sentence(s); it can only be "
                           "deleted when no annotation uses it. Rename it instead, or change those mentions first.")
    restricting = RelationType.objects.filter(Q(allowed_heads=et) | Q(allowed_tails=et)).distinct()
    names = [rt.name for rt in restricting]
    if names:
        # Taking it out of a restriction list could empty the list, which means "any type": refuse.
        raise InvalidInput(f"{et.name} is named as an allowed head or tail of {', '.join(names)}; "
                           "edit those relation types first.")
    et.delete()


def _relation_types_check(rt: RelationType, heads: list[EntityType], tails: list[EntityType]) -> None:
    """Existing relations of ``rt`` must still be allowed under the new restriction lists."""
    rels = Relation.objects.filter(relation_type=rt)
    if heads:
        bad = rels.exclude(head__entity_type__in=heads).count()
        if bad:
            raise InvalidInput(f"{bad} existing {rt.name} relation(s) have a head of another type; "
                               "allow that type too, or change those relations first.")
    if tails:
        bad = rels.exclude(tail__entity_type__in=tails).count()
        if bad:
            raise InvalidInput(f"{bad} existing {rt.name} relation(s) have a tail of another type; "
                               "allow that type too, or change those relations first.")


def _types_of(project: Project, ids: list[int]) -> list[EntityType]:
    found = list(EntityType.objects.filter(project=project, pk__in=ids))
    if len(found) != len(set(ids)):
        raise InvalidInput("An allowed head or tail is not an entity type of this project.")
    return found


@transaction.atomic
def relation_type_add(*, project: Project, name: str, symmetric: bool = False, allowed_heads: list[int] | None = None,
                      allowed_tails: list[int] | None = None) -> RelationType:
    """A new relation type; empty head/tail lists mean any entity type may take that end."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A relation type needs a name.")
    if RelationType.objects.filter(project=project, name=name).exists():
        raise InvalidInput(f"There is already a relation type named {name}.")
    rt = RelationType(project=project, name=name, symmetric=symmetric,
                      position=RelationType.objects.filter(project=project).count())
    _clean(rt)
    rt.save()
    rt.allowed_heads.set(_types_of(project, allowed_heads or []))
    rt.allowed_tails.set(_types_of(project, allowed_tails or []))
    return rt


@transaction.atomic
def relation_type_update(*, relation_type: RelationType, name: str, symmetric: bool,
                         allowed_heads: list[int], allowed_tails: list[int]) -> RelationType:
    """Rename a relation type, make it (a)symmetric or change which entity types its ends take. A
    restriction that existing relations would break is refused."""
    rt = RelationType.objects.select_for_update().get(pk=relation_type.pk)
    project = rt.project
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A relation type needs a name.")
    if name != rt.name and RelationType.objects.filter(project=project, name=name).exists():
        raise InvalidInput(f"There is already a relation type named {name}.")
    heads, tails = _types_of(project, allowed_heads), _types_of(project, allowed_tails)
    _relation_types_check(rt, heads, tails)
    old = rt.name
    rt.name, rt.symmetric = name, symmetric
    _clean(rt)
    rt.save()
    rt.allowed_heads.set(heads)
    rt.allowed_tails.set(tails)
    if old != name:
        _rename_in_predictions(project=project, field="relations", old=old, new=name)
    return rt


@transaction.atomic
def relation_type_delete(*, relation_type: RelationType) -> None:
    """Delete a relation type that no relation uses; otherwise say how many do."""
    rt = RelationType.objects.select_for_update().get(pk=relation_type.pk)
    used = Relation.objects.filter(relation_type=rt)
    n = used.count()
    if n:
        n_sentences = used.values("annotation__sentence").distinct().count()
        raise InvalidInput(f"{rt.name} is used by {n} relation(s) in {n_sentences} sentence(s); it can only be "
                           "deleted when no annotation uses it.")
    rt.delete()


# ---- members ------------------------------------------------------------------------------------------------


def _keep_an_admin(*, project: Project, membership: Membership, new_role: str | None) -> None:
    if membership.role == Role.ADMIN and new_role != Role.ADMIN:
        # Locked so that two admins demoting each other at once cannot leave the project without one.
        admins = list(Membership.objects.select_for_update().filter(project=project, role=Role.ADMIN))
        if len(admins) <= 1:
            raise NotAllowed("A project keeps at least one admin; make someone else admin first.")


@transaction.atomic
def member_add(*, project: Project, username: str, role: str) -> Membership:
    """Make an existing user a member with ``role`` (a member already: their role changes)."""
    user = get_user_model().objects.filter(username=(username or "").strip()).first()
    if user is None:
        raise InvalidInput(f"No user named {username!r}.")
    current = Membership.objects.filter(project=project, user=user).first()
    if current is not None:
        _keep_an_admin(project=project, membership=current, new_role=role)
    return membership_set(project=project, user=user, role=role)


@transaction.atomic
def member_role_set(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last admin cannot stop being one."""
    _keep_an_admin(project=membership.project, membership=membership, new_role=role)
    return membership_set(project=membership.project, user=membership.user, role=role)


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    """Remove a member (their annotations stay); the last admin cannot be removed."""
    _keep_an_admin(project=membership.project, membership=membership, new_role=None)
    membership.delete()
    queue_release(project=membership.project, user=membership.user)  # what they held goes back to the queue
