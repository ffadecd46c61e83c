"""Review and adjudication: the comparison of versions, the review list, the gold draft operations, the
submit with its 409 on a stale gold, and who may use the pages."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from annotation import selectors
from annotation.errors import InvalidInput, VersionConflict
from annotation.models import Annotation
from annotation.services import annotation_save
from annotation.services import review as review_services

from ..review_data import TEXT, build, span

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(project):
    return build(project)


def _gold(sentence) -> dict:
    gold = Annotation.objects.get(sentence=sentence, annotator__isnull=True)
    state = selectors.annotation_state(annotation=gold)
    ids = {m["id"]: (m["type"], sentence.text[m["fragments"][0][0]:m["fragments"][-1][1]]) for m in state["mentions"]}
    return {"version": state["version"],
            "mentions": sorted(ids.values()),
            "relations": sorted((r["type"], ids[r["head"]][1], ids[r["tail"]][1]) for r in state["relations"])}


def _url(project, sentence=None) -> str:
    if sentence is None:
        return reverse("review-list", kwargs={"project_id": project.pk})
    return reverse("review-sentence", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})


# --- reads --------------------------------------------------------------------------------------------------


def test_comparison_marks_agreements_and_disputes(data):
    c = selectors.review_comparison(sentence=data["sentence"])
    assert c["annotators"] == ["alice", "bob"]
    by_text = {(m["type"], m["text"]): m for m in c["mentions"]}
    assert {k for k, m in by_text.items() if m["agreed"]} == {
        ("Condition", "Type 2 diabetes"), ("Measurement", "HbA1c"), ("Value", "> 7%")}
    assert by_text[("Temporal", "3 months")]["who"] == ["alice"]
    assert by_text[("Temporal", "within 3 months")]["who"] == ["bob"]
    rels = {(r["type"], r["head_text"], r["tail_text"]): r for r in c["relations"]}
    assert rels[("Has_value", "HbA1c", "> 7%")]["agreed"] is True
    assert rels[("Has_temporal", "HbA1c", "within 3 months")]["agreed"] is False
    assert c["gold"] is None and c["drafting"] == []


def test_comparison_flags_same_span_with_another_type(project, data):
    # carol marks "HbA1c" as a Value: the row says it is also a Measurement for the others.
    from annotation.models import Role
    from annotation.services import membership_set

    from ..factories import UserFactory

    carol = UserFactory(username="carol")
    membership_set(project=project, user=carol, role=Role.ANNOTATOR)
    annotation_save(sentence=data["sentence"], actor=carol, version=0, status="submitted",
                    mentions=[{"id": "x", "type": "Value", "fragments": span(TEXT, "HbA1c")}])
    c = selectors.review_comparison(sentence=data["sentence"])
    row = next(m for m in c["mentions"] if m["type"] == "Value" and m["text"] == "HbA1c")
    assert row["other_types"] == ["Measurement"] and row["agreed"] is False
    # With three versions nothing two of them share is an agreement any more.
    assert not any(m["agreed"] for m in c["mentions"])


def test_symmetric_relations_agree_whichever_end_comes_first(project, members):
    data = build(project)
    s = data["agreed"]
    two = [{"id": "a", "type": "Drug", "fragments": [[3, 10]]}, {"id": "b", "type": "Condition", "fragments": [[0, 2]]}]
    annotation_save(sentence=s, actor=data["alice"], version=1, status="submitted", mentions=two,
                    relations=[{"type": "AND", "head": "a", "tail": "b"}])
    annotation_save(sentence=s, actor=data["bob"], version=1, status="submitted", mentions=two,
                    relations=[{"type": "AND", "head": "b", "tail": "a"}])
    c = selectors.review_comparison(sentence=s)
    assert len(c["relations"]) == 1 and c["relations"][0]["agreed"]


def test_review_queue_puts_disagreements_first_and_filters(project, data):
    rows = selectors.review_queue(project=project)
    assert [r["sentence"] for r in rows] == [data["sentence"].pk, data["agreed"].pk]
    assert rows[0]["mentions_disputed"] == 2 and rows[0]["relations_disputed"] == 1
    assert rows[1]["disputed"] == 0
    assert [r["sentence"] for r in selectors.review_queue(project=project, disputed_only=True)] == [data["sentence"].pk]
    assert data["single"].pk in [r["sentence"] for r in selectors.review_queue(project=project, min_versions=1)]
    assert [r["sentence"] for r in selectors.review_queue(project=project, q="insulin")] == [data["agreed"].pk]
    assert selectors.review_queue(project=project, state="gold") == []
    assert len(selectors.review_queue(project=project, annotator="alice")) == 2
    assert selectors.review_queue(project=project, annotator="nobody") == []
    assert selectors.review_annotators(project=project) == ["alice", "bob"]


# --- the draft (pure operations) ----------------------------------------------------------------------------


def test_draft_accept_relation_brings_its_mentions_and_is_idempotent(data):
    s = data["sentence"]
    m, t = ["Measurement", span(TEXT, "HbA1c")], ["Temporal", span(TEXT, "within 3 months")]
    draft = review_services.draft_from_state(None)
    draft = review_services.draft_accept(sentence=s, draft=draft, item=["r", "Has_temporal", m, t])
    assert len(draft["mentions"]) == 2 and len(draft["relations"]) == 1
    again = review_services.draft_accept(sentence=s, draft=draft, item=["r", "Has_temporal", m, t])
    assert again == draft


def test_draft_refuses_what_the_schema_does_not_allow(data):
    s = data["sentence"]
    draft = review_services.draft_from_state(None)
    with pytest.raises(InvalidInput, match="does not take a Temporal tail"):
        review_services.draft_accept(sentence=s, draft=draft, item=[
            "r", "Has_value", ["Measurement", [[21, 26]]], ["Temporal", [[32, 47]]]])
    with pytest.raises(InvalidInput, match="no entity type"):
        review_services.draft_accept(sentence=s, draft=draft, item=["m", "Nope", [[0, 4]]])
    with pytest.raises(InvalidInput, match="outside the sentence"):
        review_services.draft_accept(sentence=s, draft=draft, item=["m", "Condition", [[0, 400]]])
    with pytest.raises(InvalidInput):
        review_services.draft_accept(sentence=s, draft=draft, item=["x"])


def test_draft_retype_follows_relations_and_refuses_a_broken_one(data):
    s = data["sentence"]
    m, v = ["Measurement", span(TEXT, "HbA1c")], ["Value", span(TEXT, "> 7%")]
    draft = review_services.draft_accept(sentence=s, draft=review_services.draft_from_state(None),
                                         item=["r", "Has_value", m, v])
    # Has_value takes a Measurement or Condition head: Condition is fine, and the relation follows.
    moved = review_services.draft_retype(sentence=s, draft=draft, item=["m", *m], new_type="Condition")
    assert moved["relations"][0]["head"] == ["Condition", m[1]]
    # ... but not a Drug head: refused, and the draft given in is untouched.
    with pytest.raises(InvalidInput, match="does not take a Drug head"):
        review_services.draft_retype(sentence=s, draft=draft, item=["m", *m], new_type="Drug")
    assert draft["mentions"][0]["type"] == "Measurement"
    removed = review_services.draft_remove(draft=moved, item=["m", "Condition", m[1]])
    assert removed["relations"] == [] and [x["type"] for x in removed["mentions"]] == ["Value"]


def test_submit_writes_gold_and_a_stale_base_is_a_conflict(members, data):
    s = data["sentence"]
    draft = review_services.draft_accept(sentence=s, draft=review_services.draft_from_state(None),
                                         item=["m", "Condition", span(TEXT, "Type 2 diabetes")])
    annotation_save(sentence=s, actor=members["admin"], gold=True, version=0,
                    mentions=[{"id": "x", "type": "Drug", "fragments": span(TEXT, "HbA1c")}])
    with pytest.raises(VersionConflict) as exc:
        review_services.review_gold_submit(sentence=s, actor=members["curator"], draft=draft)
    assert exc.value.details["mentions"][0]["type"] == "Drug"
    assert _gold(s)["mentions"] == [("Drug", "HbA1c")]


# --- the pages ----------------------------------------------------------------------------------------------


def _post(client, project, sentence, **data):
    return client.post(_url(project, sentence), data)


def test_curator_adjudicates_a_sentence(web, project, data):
    s = data["sentence"]
    curator = web("curator")
    page = curator.get(_url(project))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(f"/sentences/{s.pk}/review/") < html.index(f"/sentences/{data['agreed'].pk}/review/")

    page = curator.get(_url(project, s))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-annotator="alice"' in html and 'data-annotator="bob"' in html
    assert 'class="m diff"' in html and 'class="m agree"' in html
    assert "Accept all agreements (4)" in html

    r = _post(curator, project, s, action="accept_agreed")
    assert r.status_code == 302
    assert not Annotation.objects.filter(sentence=s, annotator__isnull=True).exists()  # a draft, not gold yet
    html = curator.get(_url(project, s)).content.decode()
    assert "Accepted 4 agreed item(s)" in html
    assert re.search(r'<button[^>]*id="accept-agreed"[^>]* disabled>', html)

    temporal = ["r", "Has_temporal", ["Measurement", span(TEXT, "HbA1c")], ["Temporal", span(TEXT, "within 3 months")]]
    assert _post(curator, project, s, action="accept", item=json.dumps(temporal)).status_code == 302
    # Change the Value to a Condition? Has_value's tail must be a Value: refused with the reason.
    value = ["m", "Value", span(TEXT, "> 7%")]
    r = _post(curator, project, s, action="retype", item=json.dumps(value), type="Condition")
    assert "does not take a Condition tail" in curator.get(r["Location"]).content.decode()
    # Delete the diabetes mention from the draft, then take it back.
    cond = ["m", "Condition", span(TEXT, "Type 2 diabetes")]
    _post(curator, project, s, action="remove", item=json.dumps(cond))
    _post(curator, project, s, action="retype", item=json.dumps(["m", "Temporal", span(TEXT, "within 3 months")]),
          type="Temporal")
    _post(curator, project, s, action="accept", item=json.dumps(cond))

    r = _post(curator, project, s, action="submit")
    assert r.status_code == 302
    # On to the next sentence to review (the one both agreed on).
    assert r["Location"] == _url(project, data["agreed"])
    assert _gold(s) == {
        "version": 1,
        "mentions": sorted([("Condition", "Type 2 diabetes"), ("Measurement", "HbA1c"), ("Value", "> 7%"),
                            ("Temporal", "within 3 months")]),
        "relations": sorted([("Has_value", "HbA1c", "> 7%"), ("Has_temporal", "HbA1c", "within 3 months")]),
    }
    assert s.pk not in [row["sentence"] for row in selectors.review_queue(project=project)]
    # Reopened, the page starts from the gold just written.
    html = curator.get(_url(project, s)).content.decode()
    assert "from gold v1" in html


def test_stale_gold_gives_409_and_keeps_the_draft(web, project, members, data):
    s = data["sentence"]
    curator = web("curator")
    _post(curator, project, s, action="accept_agreed")
    # Meanwhile the admin writes the gold of that sentence elsewhere.
    annotation_save(sentence=s, actor=members["admin"], gold=True, version=0,
                    mentions=[{"id": "x", "type": "Drug", "fragments": span(TEXT, "HbA1c")}])
    r = _post(curator, project, s, action="submit")
    assert r.status_code == 409
    html = r.content.decode()
    assert "Not saved: admin-user saved the gold of this sentence (version 1)" in html
    assert "Your draft is kept" in html
    assert _gold(s)["mentions"] == [("Drug", "HbA1c")]          # nothing overwritten
    page = curator.get(_url(project, s)).content.decode()
    assert "3 mentions, 1 relation" in page                      # the draft survived
    assert "saved by someone else (now v1)" in page
    # Overwriting is an explicit choice.
    r = _post(curator, project, s, action="overwrite")
    assert r.status_code == 302
    assert r["Location"] == _url(project, data["agreed"])  # no list seen: the queue's first
    gold = _gold(s)
    assert gold["version"] == 2 and ("Drug", "HbA1c") not in gold["mentions"] and len(gold["mentions"]) == 3


def test_discard_drops_the_draft(web, project, data):
    s = data["sentence"]
    curator = web("curator")
    _post(curator, project, s, action="accept_agreed")
    _post(curator, project, s, action="discard")
    assert "0 mentions, 0 relations" in curator.get(_url(project, s)).content.decode()


def test_accept_one_version_whole(web, project, data):
    s = data["sentence"]
    admin = web("admin")
    _post(admin, project, s, action="accept_version", annotator="bob")
    _post(admin, project, s, action="submit")
    assert len(_gold(s)["mentions"]) == 4 and len(_gold(s)["relations"]) == 2


def test_bad_item_is_a_message_not_a_crash(web, project, data):
    curator = web("curator")
    r = _post(curator, project, data["sentence"], action="accept", item='["m", "Condition", "x"]')
    assert r.status_code == 302
    assert "Malformed item; reload the page." in curator.get(r["Location"]).content.decode()
    r = _post(curator, project, data["sentence"], action="accept", item="not json")
    assert "Unknown action" in curator.get(r["Location"]).content.decode()


@pytest.mark.parametrize(("who", "status"), [
    ("admin", 200), ("curator", 200), ("annotator", 403), ("viewer", 403), ("outsider", 404), (None, 302)])
def test_review_pages_by_role(web, project, data, who, status):
    for url in (_url(project), _url(project, data["sentence"])):
        assert web(who).get(url).status_code == status
    if status != 200:
        r = web(who).post(_url(project, data["sentence"]), {"action": "accept_agreed"})
        assert r.status_code == status
        assert not Annotation.objects.filter(sentence=data["sentence"], annotator__isnull=True).exists()


def test_sentence_of_another_project_is_404(web, project, members, data):
    from annotation.services import project_create

    other = project_create(name="Other", created_by=members["curator"])
    assert web("curator").get(_url(other, data["sentence"])).status_code == 404



def test_curator_edits_an_imported_gold_without_versions(web, project, members, data):
    s = data["single"]
    Annotation.objects.filter(sentence=s).delete()
    annotation_save(sentence=s, actor=members["admin"], gold=True, version=0,
                    mentions=[{"id": "p", "type": "Condition", "fragments": [[0, 9]]}])
    curator = web("curator")
    html = curator.get(_url(project, s)).content.decode()
    assert "No annotator has submitted this sentence yet." in html and "from gold v1" in html
    _post(curator, project, s, action="retype", item=json.dumps(["m", "Condition", [[0, 9]]]), type="Temporal")
    assert _post(curator, project, s, action="submit").status_code == 302
    assert _gold(s) == {"version": 2, "mentions": [("Temporal", "Pregnancy")], "relations": []}


def test_groups_are_compared_accepted_and_written(web, project, data):
    s = data["agreed"]
    two = [{"id": "a", "type": "Drug", "fragments": [[3, 10]]}, {"id": "b", "type": "Condition", "fragments": [[0, 2]]}]
    annotation_save(sentence=s, actor=data["alice"], version=1, status="submitted", mentions=two,
                    groups=[{"type": "OR", "members": ["b", "a"]}])
    annotation_save(sentence=s, actor=data["bob"], version=1, status="submitted", mentions=two)
    c = selectors.review_comparison(sentence=s)
    assert [(g["type"], g["who"], g["agreed"]) for g in c["groups"]] == [("OR", ["alice"], False)]
    curator = web("curator")
    html = curator.get(_url(project, s)).content.decode()
    assert 'id="group-items"' in html and "Accept all agreements (2)" in html
    _post(curator, project, s, action="accept_agreed")
    group = c["groups"][0]
    _post(curator, project, s, action="accept", item=json.dumps(["g", "OR", group["members"]]))
    assert "1 group" in curator.get(_url(project, s)).content.decode()
    _post(curator, project, s, action="submit")
    gold = selectors.annotation_state(annotation=Annotation.objects.get(sentence=s, annotator__isnull=True))
    texts = {m["id"]: m["text"] for m in gold["mentions"]}
    assert [(g["type"], sorted(texts[m] for m in g["members"])) for g in gold["groups"]] == [("OR", ["No", "insulin"])]
    # Deleting a member mention from a draft dissolves a two-member group.
    draft = review_services.draft_from_state(gold)
    draft = review_services.draft_remove(draft=draft, item=["m", "Drug", [[3, 10]]])
    assert draft["groups"] == []
