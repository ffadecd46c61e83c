"""Recording what an annotator did with the model's suggestions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.errors import InvalidInput
from annotation.models import (
    ModelVersion,
    Sentence,
    SentencePrediction,
    SuggestionDecision,
    SuggestionOutcome,
)


@transaction.atomic
def suggestion_decide(
    *, sentence: Sentence, actor: AbstractBaseUser, model_version: ModelVersion, decisions: list[dict[str, Any]],
) -> list[SuggestionDecision]:
    """Record the actor's accept/reject decisions on items of ``model_version``'s prediction for ``sentence``.

    ``decisions`` are ``{"kind": "mention"|"relation", "index": i, "decision": "accepted"|"rejected"}`` with
    ``index`` into the prediction's list of that kind. All or nothing: one bad entry refuses them all. A
    second decision on the same item replaces the first (the record is the user's latest word).
    """
    if model_version.project_id != sentence.project_id:
        raise InvalidInput("That model version belongs to another project.")
    pred = SentencePrediction.objects.filter(sentence=sentence, model_version=model_version).first()
    if pred is None:
        raise InvalidInput(f"Model version {model_version.number} made no prediction for this sentence.")
    if not decisions:
        raise InvalidInput("No decisions given.")
    lists: dict[str, list[dict[str, Any]]] = {"mention": pred.mentions or [], "relation": pred.relations or []}
    rows: dict[tuple[str, int], tuple[dict[str, Any], str]] = {}
    for i, d in enumerate(decisions):
        where = f"decisions[{i}]"
        kind, index, decision = str(d.get("kind")), d.get("index"), str(d.get("decision"))
        if kind not in lists:
            raise InvalidInput(f"{where}: kind must be mention or relation, not {kind!r}.")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(lists[kind]):
            raise InvalidInput(f"{where}: the prediction has no {kind} number {index!r} "
                               f"({len(lists[kind])} {kind}s).")
        if decision not in SuggestionOutcome.values:
            raise InvalidInput(f"{where}: decision must be accepted or rejected, not {decision!r}.")
        rows[(kind, index)] = (lists[kind][index], decision)
    out = []
    for (kind, index), (item, decision) in rows.items():
        row, _ = SuggestionDecision.objects.update_or_create(
            sentence=sentence, model_version=model_version, user=actor, kind=kind, index=index,
            defaults={"decision": decision, "item": item, "label": str(item.get("type", ""))[:100]},
        )
        out.append(row)
    return out
