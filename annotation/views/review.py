"""Review and adjudication pages for curators (and admins).

The list shows sentences with several submitted versions, disagreements first. The sentence page shows
each annotator's version side by side, items not in every version marked, and the curator's gold draft:
items are accepted one by one or every agreement at once, gold items retyped or deleted, and the draft is
submitted as gold in one write (``services.review.review_gold_submit``). The draft lives in the session
until then, with the gold version it started from: a gold saved by someone else in the meantime answers
409 with what changed, and the draft is kept.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from annotation import selectors
from annotation.errors import DomainError, VersionConflict
from annotation.models import Annotation, EntityType, RelationType, Sentence
from annotation.rendering import Span, render_text, text_colour_for
from annotation.services import review as review_services
from annotation.views.common import CURATE, project_for, template_ctx

REVIEW_PER_PAGE = 50
STATES = [("pending", "Without gold"), ("gold", "With gold"), ("all", "All")]
ORDER_KEPT = 2000


def _draft_key(sentence: Sentence) -> str:
    return f"review-draft-{sentence.pk}"


def _order_key(project: Any) -> str:
    return f"review-order-{project.pk}"


@login_required
def review_list(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request, project_id, CURATE)
    state = request.GET.get("state", "pending")
    state = state if state in dict(STATES) else "pending"
    disputed_only = request.GET.get("disputed") == "1"
    annotator = request.GET.get("annotator", "")
    q = request.GET.get("q", "").strip()
    try:
        min_versions = max(1, min(20, int(request.GET.get("min", "2"))))
    except ValueError:
        min_versions = 2
    rows = selectors.review_queue(project=project, state=state, disputed_only=disputed_only, q=q,
                                  annotator=annotator, min_versions=min_versions)
    page = Paginator(rows, REVIEW_PER_PAGE).get_page(request.GET.get("page"))
    # The order the curator saw: "submit" moves on along it without ranking the project again.
    request.session[_order_key(project)] = [r["sentence"] for r in rows if not r["has_gold"]][:ORDER_KEPT]
    filters = request.GET.copy()
    filters.pop("page", None)
    everyone = selectors.review_annotators(project=project)
    return render(request, "annotation/review_list.html", template_ctx(
        project, role, page=page, state=state, states=STATES, disputed_only=disputed_only, annotator=annotator,
        annotators=everyone, q=q, min_versions=min_versions, filter_query=filters.urlencode(),
        n_disputed=sum(1 for r in rows if r["disputed"]),
    ))


def _spans(state: dict[str, Any] | list[dict[str, Any]], text: str, colours: dict[str, str], prefix: str
           ) -> list[Span]:
    mentions = state["mentions"] if isinstance(state, dict) else state
    return [Span(key=f"{prefix}{json.dumps(review_services.mention_key(m['type'], m['fragments']))}",
                 label=m["type"], colour=colours.get(m["type"], "#888888"),
                 fragments=tuple(tuple(f) for f in m["fragments"]),
                 text=" … ".join(text[s:e] for s, e in m["fragments"])) for m in mentions]


def _page_context(request: HttpRequest, project: Any, role: str, sentence: Sentence,
                  draft: dict[str, Any]) -> dict[str, Any]:
    comparison = selectors.review_comparison(sentence=sentence)
    entity_types = list(EntityType.objects.filter(project=project))
    colours = {et.name: et.colour for et in entity_types}
    relation_types = list(RelationType.objects.filter(project=project).prefetch_related("allowed_heads",
                                                                                        "allowed_tails"))
    text = sentence.text
    symmetric = {rt.name for rt in relation_types if rt.symmetric}
    draft_mkeys = {json.dumps(review_services.mention_key(m["type"], m["fragments"])) for m in draft["mentions"]}
    draft_rkeys = {json.dumps(review_services.relation_key(r["type"], r["head"], r["tail"], r["type"] in symmetric))
                   for r in draft["relations"]}
    agreed_m = {json.dumps(m["key"]) for m in comparison["mentions"] if m["agreed"]}
    agreed_r = {json.dumps(r["key"]) for r in comparison["relations"] if r["agreed"]}

    def chip(name: str) -> dict[str, str]:
        colour = colours.get(name, "#888888")
        return {"name": name, "colour": colour, "fg": text_colour_for(colour)}

    def surface(fragments: Any) -> str:
        return " … ".join(text[s:e] for s, e in fragments)

    def arg(key: list[Any], prefix: str) -> dict[str, str]:
        """A relation end or group member to draw: its chip, surface text and the key of its spans."""
        return {**chip(key[0]), "key": prefix + json.dumps(key), "text": surface(key[1])}

    versions = []
    for i, v in enumerate(comparison["versions"]):
        prefix = f"v{i}:"
        spans = _spans(v, text, colours, prefix)
        classes = {sp.key: ("agree" if sp.key[len(prefix):] in agreed_m else "diff") for sp in spans}
        keys = {m["id"]: review_services.mention_key(m["type"], m["fragments"]) for m in v["mentions"]}
        rels = []
        for r in v["relations"]:
            if r["head"] not in keys or r["tail"] not in keys:
                continue
            rk = json.dumps(review_services.relation_key(r["type"], keys[r["head"]], keys[r["tail"]],
                                                         r["type"] in symmetric))
            rels.append({"type": r["type"], "agreed": rk in agreed_r, "symmetric": r["type"] in symmetric,
                         "head": arg(keys[r["head"]], prefix), "tail": arg(keys[r["tail"]], prefix)})
        versions.append({"annotator": v["annotator"], "version": v["version"], "html": render_text(text, spans, classes),
                         "relations": rels, "n_mentions": len(spans),
                         "n_diff": sum(1 for c in classes.values() if c == "diff")})

    mention_rows = []
    for m in comparison["mentions"]:
        key = json.dumps(m["key"])
        mention_rows.append({**m, **{"chip": chip(m["type"])}, "item": json.dumps(["m", m["type"], m["fragments"]]),
                             "in_draft": key in draft_mkeys,
                             "marks": [a in m["who"] for a in comparison["annotators"]]})
    relation_rows = []
    for r in comparison["relations"]:
        relation_rows.append({**r, "item": json.dumps(["r", r["type"], r["head"], r["tail"]]),
                              "head_chip": chip(r["head"][0]), "tail_chip": chip(r["tail"][0]),
                              "in_draft": json.dumps(r["key"]) in draft_rkeys,
                              "marks": [a in r["who"] for a in comparison["annotators"]]})

    draft_gkeys = {json.dumps(review_services.group_key(g["type"], g["members"])) for g in draft["groups"]}
    agreed_g = {json.dumps(g["key"]) for g in comparison["groups"] if g["agreed"]}
    group_rows = [{**g, "item": json.dumps(["g", g["type"], g["members"]]), "in_draft": json.dumps(g["key"]) in draft_gkeys,
                   "members_view": [{**chip(m[0]), "text": t} for m, t in zip(g["members"], g["texts"], strict=True)],
                   "marks": [a in g["who"] for a in comparison["annotators"]]}
                  for g in comparison["groups"]]
    for i, (version, v) in enumerate(zip(versions, comparison["versions"], strict=True)):
        keys = {m["id"]: review_services.mention_key(m["type"], m["fragments"]) for m in v["mentions"]}
        version["groups"] = []
        for g in v["groups"]:
            if any(m not in keys for m in g["members"]):
                continue
            gk = review_services.group_key(g["type"], [keys[m] for m in g["members"]])
            version["groups"].append({
                "type": g["type"], "agreed": json.dumps(gk) in agreed_g,
                "members": [arg(k, f"v{i}:") for k in gk[1]]})
    gold_groups = [{"type": g["type"], "item": json.dumps(["g", g["type"], g["members"]]),
                    "members": [arg(k, "g:") for k in review_services.group_key(g["type"], g["members"])[1]]}
                   for g in draft["groups"]]

    def allowed(rt: RelationType, head: str, tail: str) -> bool:
        heads = {e.name for e in rt.allowed_heads.all()}
        tails = {e.name for e in rt.allowed_tails.all()}
        return (not heads or head in heads) and (not tails or tail in tails)

    gold_spans = _spans(draft, text, colours, "g:")
    draft_mentions = sorted((review_services.mention_key(m["type"], m["fragments"]) for m in draft["mentions"]),
                            key=lambda k: (k[1], k[0]))
    gold_mentions = [{**arg(k, "g:"), "type": k[0], "item": json.dumps(["m", *k]),
                      "agreed": json.dumps(k) in agreed_m} for k in draft_mentions]
    gold_relations = [{"type": r["type"], "symmetric": r["type"] in symmetric,
                       "item": json.dumps(["r", r["type"], r["head"], r["tail"]]),
                       "head": arg(review_services.mention_key(*r["head"]), "g:"),
                       "tail": arg(review_services.mention_key(*r["tail"]), "g:"),
                       "types": [rt.name for rt in relation_types if allowed(rt, r["head"][0], r["tail"][0])]}
                      for r in draft["relations"]]
    gold = comparison["gold"]
    current = gold["version"] if gold else 0
    pending_agreements = len(agreed_m - draft_mkeys) + len(agreed_r - draft_rkeys) + len(agreed_g - draft_gkeys)
    doc = sentence.document
    neighbours = list(Sentence.objects.filter(document=doc, position__in=[sentence.position - 1,
                                                                          sentence.position + 1])
                      .order_by("position").values("position", "text"))
    return template_ctx(
        project, role, sentence=sentence, document=doc, comparison=comparison, versions=versions,
        mention_rows=mention_rows, relation_rows=relation_rows, entity_types=[chip(et.name) for et in entity_types],
        draft=draft, gold_html=render_text(text, gold_spans), gold_mentions=gold_mentions,
        gold_relations=gold_relations, gold_groups=gold_groups, group_rows=group_rows, gold=gold, current_version=current, stale=draft["base"] != current,
        pending_agreements=pending_agreements,
        before=[n for n in neighbours if n["position"] < sentence.position],
        after=[n for n in neighbours if n["position"] > sentence.position],
        n_columns=max(1, min(3, len(versions))),
        editor_url=f"/projects/{project.pk}/sentences/{sentence.pk}/annotate/",
    )


def _items(comparison: dict[str, Any], chosen: Any) -> list[list[Any]]:
    """The comparison's items that ``chosen`` picks, as draft items (mentions, relations, groups)."""
    return ([["m", m["type"], m["fragments"]] for m in comparison["mentions"] if chosen(m)]
            + [["r", r["type"], r["head"], r["tail"]] for r in comparison["relations"] if chosen(r)]
            + [["g", g["type"], g["members"]] for g in comparison["groups"] if chosen(g)])


def _size(draft: dict[str, Any]) -> int:
    return len(draft["mentions"]) + len(draft["relations"]) + len(draft["groups"])


def _next_for_review(request: HttpRequest, project: Any, after: Sentence) -> int | None:
    """The sentence after ``after`` in the review list the curator last saw, skipping any that got gold
    meanwhile; without such a list, the first of the review queue."""
    order = request.session.get(_order_key(project))
    if order:
        rest = order[order.index(after.pk) + 1:] if after.pk in order else order
        done = set(Annotation.objects.filter(sentence_id__in=rest, annotator__isnull=True)
                   .values_list("sentence_id", flat=True))
        return next((sid for sid in rest if sid not in done and sid != after.pk), None)
    rows = selectors.review_queue(project=project, state="pending")
    return next((r["sentence"] for r in rows if r["sentence"] != after.pk), None)


@login_required
@require_http_methods(["GET", "POST"])
def review_sentence(request: HttpRequest, project_id: int, sentence_id: int) -> HttpResponse:
    project, role = project_for(request, project_id, CURATE)
    sentence = get_object_or_404(Sentence.objects.select_related("document", "project"), project=project,
                                 pk=sentence_id)
    key = _draft_key(sentence)
    draft = request.session.get(key)
    if draft is None:
        current = selectors.review_comparison(sentence=sentence)["gold"]
        draft = review_services.draft_from_state(current)
    here = reverse("review-sentence", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})
    if request.method == "GET":
        return render(request, "annotation/review_sentence.html",
                      _page_context(request, project, role, sentence, draft))

    action = request.POST.get("action", "")
    try:
        item = json.loads(request.POST["item"]) if request.POST.get("item") else None
    except json.JSONDecodeError:
        item = None
    try:
        if action == "accept" and item is not None:
            draft = review_services.draft_accept(sentence=sentence, draft=draft, item=item)
        elif action == "accept_agreed":
            comparison = selectors.review_comparison(sentence=sentence)
            items = _items(comparison, lambda item: item["agreed"])
            before = _size(draft)
            draft = review_services.draft_accept_many(sentence=sentence, draft=draft, items=items)
            added = _size(draft) - before
            messages.success(request, f"Accepted {added} agreed item(s) into the gold draft."
                             if added else "Every agreement is already in the gold draft.")
        elif action == "accept_version":
            comparison = selectors.review_comparison(sentence=sentence)
            who = request.POST.get("annotator", "")
            items = _items(comparison, lambda item: who in item["who"])
            draft = review_services.draft_accept_many(sentence=sentence, draft=draft, items=items)
            messages.success(request, f"Accepted {who}'s version into the gold draft.")
        elif action == "remove" and item is not None:
            draft = review_services.draft_remove(draft=draft, item=item)
        elif action == "retype" and item is not None:
            draft = review_services.draft_retype(sentence=sentence, draft=draft, item=item,
                                                 new_type=request.POST.get("type", ""))
        elif action == "discard":
            request.session.pop(key, None)
            messages.info(request, "Gold draft discarded; showing the current gold.")
            return redirect(here)
        elif action in ("submit", "overwrite"):
            if action == "overwrite":
                # An explicit choice after a conflict: the draft replaces the gold someone else saved.
                current = selectors.review_comparison(sentence=sentence)["gold"]
                draft = {**draft, "base": current["version"] if current else 0}
            annotation = review_services.review_gold_submit(sentence=sentence, actor=request.user, draft=draft)
            request.session.pop(key, None)
            messages.success(request, f"Gold saved for sentence {sentence.position + 1} of "
                             f"{sentence.document.external_id} (version {annotation.version}).")
            nxt = _next_for_review(request, project, sentence)
            if nxt is not None:
                return redirect("review-sentence", project_id=project.pk, sentence_id=nxt)
            return redirect("review-list", project_id=project.pk)
        else:
            messages.error(request, "Unknown action; reload the page.")
            return redirect(here)
    except VersionConflict as exc:
        request.session[key] = draft
        current = exc.details
        who = "someone else"
        if current is not None:
            gold_row = Annotation.objects.filter(pk=current["id"]).select_related("updated_by").first()
            if gold_row is not None and gold_row.updated_by is not None:
                who = gold_row.updated_by.get_username()
        ctx = _page_context(request, project, role, sentence, draft)
        ctx["conflict"] = {
            "message": (f"Not saved: {who} saved the gold of this sentence (version "
                        f"{current['version'] if current else '?'}) after you started "
                        + (f"from version {draft['base']}" if draft["base"] else "(there was no gold then)")
                        + ". Your draft is kept below; compare it with the current gold, then discard your "
                        "draft or overwrite the gold with it."),
            "current": current,
            "html": render_text(sentence.text, _spans(current, sentence.text, {e["name"]: e["colour"] for e in
                                                                               ctx["entity_types"]}, "c:"))
            if current else "",
        }
        return render(request, "annotation/review_sentence.html", ctx, status=409)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(here)
    request.session[key] = draft
    return redirect(here)
