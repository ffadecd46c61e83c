"""Adjudication: a curator builds a sentence's gold from the annotators' versions.

The curator works on a *draft* of the gold (plain data, kept by the caller, e.g. in the session) and
writes it with one ``annotation_save(gold=True, version=...)`` when they submit. A half-built gold
therefore never reaches the queue, the agreement figures or a training run, and the draft remembers the
gold version it started from: if someone else saved the gold meanwhile, the submit is refused with a
``VersionConflict`` and the draft is kept.

A draft is ``{"base": <gold version or 0>, "mentions": [{"type", "fragments"}], "relations": [{"type",
"head": <mention key>, "tail": <mention key>}], "groups": [{"type", "members": [<mention key>]}]}``;
a mention key is ``[type, [[start, end], ...]]`` (JSON-friendly). The draft functions are pure: they
return a new draft and raise ``InvalidInput`` with a message a curator can act on.
"""

from __future__ import annotations

import copy
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.errors import InvalidInput
from annotation.models import Annotation, EntityType, RelationType, Sentence

from .annotations import annotation_save

Draft = dict[str, Any]


def mention_key(type_: str, fragments: Any) -> list[Any]:
    """The identity of a mention in a draft: its type and sorted fragments."""
    return [str(type_), sorted([int(s), int(e)] for s, e in fragments)]


def relation_key(type_: str, head: Any, tail: Any, symmetric: bool = False) -> list[Any]:
    """The identity of a relation: type and its two ends' mention keys (ordered for symmetric types)."""
    h, t = mention_key(*head), mention_key(*tail)
    if symmetric and t < h:
        h, t = t, h
    return [str(type_), h, t]


def group_key(type_: str, members: Any) -> list[Any]:
    """The identity of a mention group (e.g. Chia's OR): its type and its members' keys, in order."""
    return [str(type_), sorted(mention_key(*m) for m in members)]


def draft_from_state(state: dict[str, Any] | None) -> Draft:
    """A draft holding an annotation's content (``selectors.annotation_state`` shape); an empty draft
    based on version 0 when there is no gold yet."""
    if state is None:
        return {"base": 0, "mentions": [], "relations": [], "groups": []}
    keys = {m["id"]: mention_key(m["type"], m["fragments"]) for m in state["mentions"]}
    return {
        "base": state["version"],
        "mentions": [{"type": m["type"], "fragments": keys[m["id"]][1]} for m in state["mentions"]],
        "relations": [{"type": r["type"], "head": keys[r["head"]], "tail": keys[r["tail"]]}
                      for r in state["relations"] if r["head"] in keys and r["tail"] in keys],
        "groups": [{"type": g["type"], "members": [keys[m] for m in g["members"] if m in keys]}
                   for g in state["groups"]],
    }


def _mkeys(draft: Draft) -> list[list[Any]]:
    return [mention_key(m["type"], m["fragments"]) for m in draft["mentions"]]


def _symmetric(project_id: int) -> set[str]:
    return set(RelationType.objects.filter(project_id=project_id, symmetric=True).values_list("name", flat=True))


def _rkeys(draft: Draft, symmetric: set[str]) -> list[list[Any]]:
    return [relation_key(r["type"], r["head"], r["tail"], r["type"] in symmetric) for r in draft["relations"]]


def _check_relation(*, project_id: int, type_: str, head: list[Any], tail: list[Any]) -> None:
    rt = (RelationType.objects.filter(project_id=project_id, name=type_)
          .prefetch_related("allowed_heads", "allowed_tails").first())
    if rt is None:
        raise InvalidInput(f"The schema has no relation type {type_!r}.")
    heads = {e.name for e in rt.allowed_heads.all()}
    tails = {e.name for e in rt.allowed_tails.all()}
    if heads and head[0] not in heads:
        raise InvalidInput(f"{type_} does not take a {head[0]} head (allowed: {', '.join(sorted(heads))}).")
    if tails and tail[0] not in tails:
        raise InvalidInput(f"{type_} does not take a {tail[0]} tail (allowed: {', '.join(sorted(tails))}).")


def draft_accept(*, sentence: Sentence, draft: Draft, item: list[Any]) -> Draft:
    """Add one item to the draft: a mention ``["m", type, fragments]``, a relation ``["r", type, head
    key, tail key]`` or a group ``["g", type, [member keys]]`` (the mentions it needs are added too when
    missing). Accepting an item already in the draft changes nothing."""
    out = copy.deepcopy(draft)
    if not isinstance(item, list) or not item or item[0] not in ("m", "r", "g"):
        raise InvalidInput("Unknown item; reload the page.")
    keys = _mkeys(out)
    types = set(EntityType.objects.filter(project_id=sentence.project_id).values_list("name", flat=True))

    def add_mention(key: list[Any]) -> None:
        t, frags = key
        if t not in types:
            raise InvalidInput(f"The schema has no entity type {t!r}.")
        if not frags or any(not (0 <= s < e <= len(sentence.text)) for s, e in frags):
            raise InvalidInput("That mention lies outside the sentence.")
        if key not in keys:
            out["mentions"].append({"type": t, "fragments": frags})
            keys.append(key)

    try:
        if item[0] == "m":
            add_mention(mention_key(item[1], item[2]))
        elif item[0] == "g":
            key = group_key(item[1], item[2])
            if len(key[1]) < 2:
                raise InvalidInput("A group needs two or more mentions.")
            for member in key[1]:
                add_mention(member)
            if key not in [group_key(g["type"], g["members"]) for g in out["groups"]]:
                out["groups"].append({"type": key[0], "members": key[1]})
        else:
            type_, head, tail = item[1], mention_key(*item[2]), mention_key(*item[3])
            _check_relation(project_id=sentence.project_id, type_=type_, head=head, tail=tail)
            add_mention(head)
            add_mention(tail)
            symmetric = _symmetric(sentence.project_id)
            if relation_key(type_, head, tail, type_ in symmetric) not in _rkeys(out, symmetric):
                out["relations"].append({"type": type_, "head": head, "tail": tail})
    except (TypeError, ValueError, IndexError):
        raise InvalidInput("Malformed item; reload the page.") from None
    return out


def draft_accept_many(*, sentence: Sentence, draft: Draft, items: list[list[Any]]) -> Draft:
    """Accept several items (e.g. every agreement) in one step; all or nothing."""
    for item in items:
        draft = draft_accept(sentence=sentence, draft=draft, item=item)
    return draft


def draft_remove(*, draft: Draft, item: list[Any]) -> Draft:
    """Remove a mention (with the relations it takes part in, and its group memberships), a relation or
    a group."""
    out = copy.deepcopy(draft)
    try:
        if item[0] == "m":
            key = mention_key(item[1], item[2])
            out["mentions"] = [m for m in out["mentions"] if mention_key(m["type"], m["fragments"]) != key]
            out["relations"] = [r for r in out["relations"]
                                if mention_key(*r["head"]) != key and mention_key(*r["tail"]) != key]
            for g in out["groups"]:
                g["members"] = [k for k in g["members"] if mention_key(*k) != key]
            out["groups"] = [g for g in out["groups"] if len(g["members"]) >= 2]
        elif item[0] == "g":
            gone_group = group_key(item[1], item[2])
            out["groups"] = [g for g in out["groups"] if group_key(g["type"], g["members"]) != gone_group]
        elif item[0] == "r":
            gone = [item[1], mention_key(*item[2]), mention_key(*item[3])]
            out["relations"] = [r for r in out["relations"]
                                if [r["type"], mention_key(*r["head"]), mention_key(*r["tail"])] != gone]
        else:
            raise InvalidInput("Unknown item; reload the page.")
    except (TypeError, ValueError, IndexError):
        raise InvalidInput("Malformed item; reload the page.") from None
    return out


def draft_retype(*, sentence: Sentence, draft: Draft, item: list[Any], new_type: str) -> Draft:
    """Change the type of a draft mention (its relations follow it) or relation. A relation whose
    schema no longer allows the mention's new type is refused with the reason, nothing changed."""
    out = copy.deepcopy(draft)
    try:
        if item[0] == "m":
            old = mention_key(item[1], item[2])
            if not EntityType.objects.filter(project_id=sentence.project_id, name=new_type).exists():
                raise InvalidInput(f"The schema has no entity type {new_type!r}.")
            new = [new_type, old[1]]
            if new != old and new in _mkeys(out):
                raise InvalidInput(f"The gold already has this span as {new_type}; delete one of the two instead.")
            if old not in _mkeys(out):
                raise InvalidInput("That mention is no longer in the gold draft.")
            for m in out["mentions"]:
                if mention_key(m["type"], m["fragments"]) == old:
                    m["type"] = new_type
            for r in out["relations"]:
                for end in ("head", "tail"):
                    if mention_key(*r[end]) == old:
                        r[end] = new
                _check_relation(project_id=sentence.project_id, type_=r["type"], head=r["head"], tail=r["tail"])
            for g in out["groups"]:
                g["members"] = [new if mention_key(*k) == old else k for k in g["members"]]
        elif item[0] == "r":
            head, tail = mention_key(*item[2]), mention_key(*item[3])
            _check_relation(project_id=sentence.project_id, type_=new_type, head=head, tail=tail)
            found = False
            for r in out["relations"]:
                if [r["type"], mention_key(*r["head"]), mention_key(*r["tail"])] == [item[1], head, tail]:
                    r["type"], found = new_type, True
            if not found:
                raise InvalidInput("That relation is no longer in the gold draft.")
            symmetric = _symmetric(sentence.project_id)
            rkeys = _rkeys(out, symmetric)
            if len(rkeys) != len({repr(k) for k in rkeys}):
                raise InvalidInput(f"The gold already has this {new_type} relation.")
        else:
            raise InvalidInput("Unknown item; reload the page.")
    except (TypeError, ValueError, IndexError):
        raise InvalidInput("Malformed item; reload the page.") from None
    return out


def draft_as_input(draft: Draft) -> dict[str, list[dict[str, Any]]]:
    """The draft in ``annotation_save``'s input shape (mention ids are positions)."""
    keys = _mkeys(draft)
    ids = {repr(k): str(i) for i, k in enumerate(keys)}
    return {
        "mentions": [{"id": str(i), "type": k[0], "fragments": k[1]} for i, k in enumerate(keys)],
        "relations": [{"type": r["type"], "head": ids[repr(mention_key(*r["head"]))],
                       "tail": ids[repr(mention_key(*r["tail"]))]} for r in draft["relations"]],
        "groups": [{"type": g["type"], "members": [ids[repr(mention_key(*k))] for k in g["members"]]}
                   for g in draft["groups"]],
    }


@transaction.atomic
def review_gold_submit(*, sentence: Sentence, actor: AbstractBaseUser, draft: Draft) -> Annotation:
    """Write the draft as the sentence's gold, if the gold is still the version the draft started from;
    otherwise ``VersionConflict`` (409) with the current gold, and nothing is written."""
    return annotation_save(sentence=sentence, actor=actor, gold=True, version=int(draft["base"]),
                           **draft_as_input(draft))
