"""The annotation page's views (queue, skip, roles, what the page carries) and the recording of suggestion
decisions (service, API for each role, the dashboard reading them)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from annotation import selectors
from annotation.errors import InvalidInput
from annotation.loop import dashboard
from annotation.models import (
    Annotation,
    AnnotationStatus,
    ModelStatus,
    ModelVersion,
    QueueStrategy,
    SuggestionDecision,
)
from annotation.services import annotation_save, suggestion_decide
from tests.pages import offsite_references

from ...editor_data import ADULTS, BMI, CANCER, HBA1C, HBA1C_SUGGESTIONS, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(project):
    return build(project)


def _payload(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="editor-data" type="application/json">') + len(
        '<script id="editor-data" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


def _page(project, sentence):
    return reverse("annotate-sentence", args=[project.pk, sentence.pk])


# --- the queue ---------------------------------------------------------------------------------------------


def test_next_opens_the_queues_first_sentence_then_the_next_after_a_submit(web, members, project, data):
    c = web("annotator")
    r = c.get(reverse("annotate-next", args=[project.pk]))
    assert r.status_code == 302 and r["Location"] == _page(project, data["sentences"][HBA1C]) + "?via=queue"
    annotation_save(sentence=data["sentences"][HBA1C], actor=members["annotator"], version=0, mentions=[],
                    status=AnnotationStatus.SUBMITTED)
    r = c.get(reverse("annotate-next", args=[project.pk]))
    assert r["Location"].startswith(_page(project, data["sentences"][CANCER]))


def test_skip_puts_a_sentence_aside_for_the_session_and_post_brings_it_back(web, project, data):
    c = web("annotator")
    r = c.post(reverse("annotate-skip", args=[project.pk, data["sentences"][HBA1C].pk]))
    assert r.status_code == 302 and r["Location"] == reverse("annotate-next", args=[project.pk])
    assert c.get(r["Location"])["Location"].startswith(_page(project, data["sentences"][CANCER]))
    for t in (CANCER, BMI, ADULTS):
        c.post(reverse("annotate-skip", args=[project.pk, data["sentences"][t].pk]))
    r = c.get(reverse("annotate-next", args=[project.pk]))
    assert r.status_code == 200 and "Only the 4 sentences you skipped are left" in r.content.decode()
    c.post(reverse("annotate-next", args=[project.pk]))
    assert c.get(reverse("annotate-next", args=[project.pk]))["Location"].startswith(
        _page(project, data["sentences"][HBA1C]))
    # another user's session is not affected by the skips; the sentence the annotator was just given is
    # reserved for them, so the curator gets the one after it
    assert web("curator").get(reverse("annotate-next", args=[project.pk]))["Location"].startswith(
        _page(project, data["sentences"][CANCER]))


def test_a_skipped_draft_does_not_come_back_first(web, members, project, data):
    annotation_save(sentence=data["sentences"][BMI], actor=members["annotator"], version=0, mentions=[])
    c = web("annotator")
    assert c.get(reverse("annotate-next", args=[project.pk]))["Location"].startswith(
        _page(project, data["sentences"][BMI]))  # an unfinished draft comes first
    c.post(reverse("annotate-skip", args=[project.pk, data["sentences"][BMI].pk]))
    assert c.get(reverse("annotate-next", args=[project.pk]))["Location"].startswith(
        _page(project, data["sentences"][HBA1C]))


def test_empty_queue(web, members, project, data):
    for s in data["sentences"].values():
        annotation_save(sentence=s, actor=members["curator"], gold=True, version=0, mentions=[])
    r = web("annotator").get(reverse("annotate-next", args=[project.pk]))
    assert r.status_code == 200 and "Your queue is empty" in r.content.decode()


@pytest.mark.parametrize(("who", "status"), [
    ("admin", 302), ("curator", 302), ("annotator", 302), ("viewer", 403), ("outsider", 404), (None, 302),
])
def test_next_roles(web, project, data, who, status):
    r = web(who).get(reverse("annotate-next", args=[project.pk]))
    assert r.status_code == status
    if who is None:
        assert "/login/" in r["Location"]


@pytest.mark.parametrize(("who", "status"), [
    ("admin", 302), ("curator", 302), ("annotator", 302), ("viewer", 403), ("outsider", 404), (None, 302),
])
def test_skip_roles(web, project, data, who, status):
    assert web(who).post(reverse("annotate-skip", args=[project.pk, data["sentences"][HBA1C].pk])).status_code == status


# --- the page ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status", "read_only"), [
    ("admin", 200, False), ("curator", 200, False), ("annotator", 200, False), ("viewer", 200, True),
    ("outsider", 404, None), (None, 302, None),
])
def test_page_roles(web, project, data, who, status, read_only):
    r = web(who).get(_page(project, data["sentences"][HBA1C]))
    assert r.status_code == status
    if status == 200:
        p = _payload(r)
        assert p["read_only"] is read_only
        html = r.content.decode()
        assert ('id="ed-submit"' in html) is (not read_only)
        assert "css/editor.css" in html and "js/editor/editor.js" in html and not offsite_references(html)


def test_project_page_links_the_queue_for_those_who_annotate(web, project, data):
    link = reverse("annotate-next", args=[project.pk])
    assert link in web("annotator").get(reverse("project-detail", args=[project.pk])).content.decode()
    assert link not in web("viewer").get(reverse("project-detail", args=[project.pk])).content.decode()


def test_a_sentence_of_another_project_is_404(web, members, project, data):
    from annotation.services import project_create

    other = project_create(name="Other", created_by=members["admin"], schema={"entity_types": [],
                                                                               "relation_types": []})
    assert web("admin").get(reverse("annotate-sentence", args=[other.pk, data["sentences"][HBA1C].pk])).status_code == 404


def test_page_carries_context_schema_queue_and_suggestions(web, project, data):
    p = _payload(web("annotator").get(_page(project, data["sentences"][HBA1C]) + "?via=queue"))
    assert p["sentence"]["text"] == HBA1C
    assert [n["text"] for n in p["context"]["before"]] == [ADULTS]
    assert [n["text"] for n in p["context"]["after"]] == [CANCER, BMI]
    assert p["document"]["section"] == "inclusion" and p["document"]["section_label"] == "Inclusion"
    types = {t["name"]: t for t in p["schema"]["entity_types"]}
    assert types["Condition"]["hotkey"] == "c" and types["Condition"]["colour"].startswith("#")
    rels = {r["name"]: r for r in p["schema"]["relation_types"]}
    assert rels["Has_value"]["heads"] == ["Condition", "Measurement"] and rels["Has_value"]["tails"] == ["Value"]
    assert rels["AND"]["symmetric"] is True and rels["AND"]["heads"] == []
    # the queue: the project's strategy and this sentence's uncertainty under it (joint entropy 0.31 + 0.12)
    q = p["queue"]
    assert q["strategy"] == QueueStrategy.JOINT_DIVERSE and q["via"] == "queue"
    assert q["uncertainty"] == pytest.approx(0.43)
    assert p["suggestions"]["model_version"] == 1 and p["suggestions"]["mentions"] == HBA1C_SUGGESTIONS
    assert p["annotation"] is None
    assert p["urls"]["save"] == reverse("api-my-annotation", args=[project.pk, data["sentences"][HBA1C].pk])


def test_uncertainty_follows_the_strategy(web, project, data):
    project.queue_strategy = QueueStrategy.LEAST_CONFIDENCE
    project.save()
    q = _payload(web("annotator").get(_page(project, data["sentences"][HBA1C])))["queue"]
    assert q["strategy_label"] == "Least confidence" and q["uncertainty"] == pytest.approx(0.45)
    project.queue_strategy = QueueStrategy.SEQUENTIAL
    project.save()
    q = _payload(web("annotator").get(_page(project, data["sentences"][HBA1C])))["queue"]
    assert q["uncertainty"] is None and q["note"] == "no model ranking"


def test_annotators_see_only_their_own_work_viewers_the_gold(web, members, project, data):
    s = data["sentences"][HBA1C]
    annotation_save(sentence=s, actor=members["curator"], version=0,
                    mentions=[{"id": "1", "type": "Measurement", "fragments": [[0, 5]]}])
    annotation_save(sentence=s, actor=members["admin"], gold=True, version=0,
                    mentions=[{"id": "1", "type": "Value", "fragments": [[6, 10]]}])
    assert _payload(web("annotator").get(_page(project, s)))["annotation"] is None
    html = web("annotator").get(_page(project, s)).content.decode()
    assert "curator-user" not in html
    mine = _payload(web("curator").get(_page(project, s)))["annotation"]
    assert mine["annotator"] == "curator-user" and [m["type"] for m in mine["mentions"]] == ["Measurement"]
    viewer = _payload(web("viewer").get(_page(project, s)))
    assert viewer["annotation"]["gold"] is True and [m["type"] for m in viewer["annotation"]["mentions"]] == ["Value"]
    assert viewer["suggestions"]["mentions"] == []  # nothing to decide for a viewer


def test_page_shows_recorded_decisions(web, members, project, data):
    s = data["sentences"][HBA1C]
    suggestion_decide(sentence=s, actor=members["annotator"], model_version=data["version"],
                      decisions=[{"kind": "mention", "index": 2, "decision": "rejected"}])
    p = _payload(web("annotator").get(_page(project, s)))
    assert p["suggestions"]["decisions"] == {"mention": {"2": "rejected"}, "relation": {}}
    assert _payload(web("curator").get(_page(project, s)))["suggestions"]["decisions"]["mention"] == {}


def test_text_is_escaped_in_the_page(web, project, data):
    s = data["sentences"][HBA1C]
    s.text = "Score <script>alert(1)</script> > 3"
    s.save()
    html = web("annotator").get(_page(project, s)).content.decode()
    assert "<script>alert(1)</script>" not in html


# --- suggestion decisions ----------------------------------------------------------------------------------


def test_decide_records_and_replaces(members, data):
    s, v, me = data["sentences"][HBA1C], data["version"], members["annotator"]
    rows = suggestion_decide(sentence=s, actor=me, model_version=v, decisions=[
        {"kind": "mention", "index": 0, "decision": "accepted"},
        {"kind": "relation", "index": 0, "decision": "rejected"}])
    assert len(rows) == 2
    row = SuggestionDecision.objects.get(user=me, kind="mention", index=0)
    assert row.label == "Measurement" and row.item == HBA1C_SUGGESTIONS[0] and row.decision == "accepted"
    assert SuggestionDecision.objects.get(user=me, kind="relation").label == "Has_value"
    suggestion_decide(sentence=s, actor=me, model_version=v,
                      decisions=[{"kind": "mention", "index": 0, "decision": "rejected"}])
    assert SuggestionDecision.objects.filter(user=me).count() == 2
    assert SuggestionDecision.objects.get(user=me, kind="mention", index=0).decision == "rejected"
    assert selectors.suggestion_decisions_of(sentence=s, user=me, model_version_id=v.pk) == {
        "mention": {0: "rejected"}, "relation": {0: "rejected"}}


@pytest.mark.parametrize(("decisions", "message"), [
    ([{"kind": "mention", "index": 3, "decision": "accepted"}], "no mention number 3"),
    ([{"kind": "relation", "index": 1, "decision": "accepted"}], "no relation number 1"),
    ([{"kind": "group", "index": 0, "decision": "accepted"}], "kind must be"),
    ([{"kind": "mention", "index": 0, "decision": "maybe"}], "decision must be"),
    ([{"kind": "mention", "index": True, "decision": "accepted"}], "no mention number True"),
    ([], "No decisions"),
])
def test_decide_refuses_bad_input_and_saves_nothing(members, data, decisions, message):
    good = {"kind": "mention", "index": 0, "decision": "accepted"}
    with pytest.raises(InvalidInput, match=message):
        suggestion_decide(sentence=data["sentences"][HBA1C], actor=members["annotator"], model_version=data["version"],
                          decisions=[good, *decisions] if decisions else [])
    assert not SuggestionDecision.objects.exists()


def test_decide_needs_a_prediction_of_that_version(members, project, data):
    v2 = ModelVersion.objects.create(project=project, number=2, architecture="span.v1", status=ModelStatus.RETIRED)
    with pytest.raises(InvalidInput, match="made no prediction"):
        suggestion_decide(sentence=data["sentences"][HBA1C], actor=members["annotator"], model_version=v2,
                          decisions=[{"kind": "mention", "index": 0, "decision": "accepted"}])


@pytest.mark.parametrize(("who", "status"), [
    ("admin", 200), ("curator", 200), ("annotator", 200), ("viewer", 403), ("outsider", 404), (None, 403),
])
def test_decision_api_roles(client_for, project, data, who, status):
    url = reverse("api-suggestion-decisions", args=[project.pk, data["sentences"][HBA1C].pk])
    r = client_for(who).post(url, {"model_version": 1, "decisions": [
        {"kind": "mention", "index": 1, "decision": "accepted"}]}, format="json")
    assert r.status_code == status
    if status == 200:
        assert r.json() == {"model_version": 1, "decisions": {"mention": {"1": "accepted"}, "relation": {}}}
    assert SuggestionDecision.objects.count() == (1 if status == 200 else 0)


def test_decision_api_errors(client_for, project, data):
    url = reverse("api-suggestion-decisions", args=[project.pk, data["sentences"][HBA1C].pk])
    r = client_for("annotator").post(url, {"model_version": 9, "decisions": [
        {"kind": "mention", "index": 1, "decision": "accepted"}]}, format="json")
    assert r.status_code == 400 and "No model version 9" in r.json()["detail"]
    r = client_for("annotator").post(url, {"model_version": 1, "decisions": [
        {"kind": "mention", "index": 7, "decision": "accepted"}]}, format="json")
    assert r.status_code == 400 and "no mention number 7" in r.json()["detail"]
    r = client_for("annotator").post(url, {"model_version": 1, "decisions": []}, format="json")
    assert r.status_code == 400


def test_dashboard_counts_recorded_decisions(members, project, data):
    s, v = data["sentences"][HBA1C], data["version"]
    for who, verdicts in (("annotator", ["accepted", "accepted", "rejected"]),
                          ("curator", ["accepted", "rejected", "rejected"])):
        suggestion_decide(sentence=s, actor=members[who], model_version=v, decisions=[
            {"kind": "mention", "index": i, "decision": d} for i, d in enumerate(verdicts)])
    # a submitted version after the suggestion would be inferred otherwise; the recorded decisions win
    annotation_save(sentence=s, actor=members["annotator"], version=0, status=AnnotationStatus.SUBMITTED,
                    mentions=[{"id": "1", "type": "Measurement", "fragments": [[0, 5]]}])
    rates = {(r["version"], r["type"]): r for r in dashboard.suggestion_rates(project=project)}
    assert (rates[(1, "Measurement")]["accepted"], rates[(1, "Measurement")]["rejected"]) == (2, 0)
    assert (rates[(1, "Value")]["accepted"], rates[(1, "Value")]["rejected"]) == (1, 1)
    assert (rates[(1, "Temporal")]["accepted"], rates[(1, "Temporal")]["rejected"]) == (0, 2)
    total = rates[(1, "(all types)")]
    assert (total["accepted"], total["edited"], total["rejected"], total["total"]) == (3, 0, 3, 6)
    counts = selectors.suggestion_decision_counts(project=project)
    assert {(c["kind"], c["type"]): (c["accepted"], c["rejected"]) for c in counts} == {
        ("mention", "Measurement"): (2, 0), ("mention", "Value"): (1, 1), ("mention", "Temporal"): (0, 2)}


def test_dashboard_still_infers_where_nothing_was_recorded(members, project, data):
    s = data["sentences"][HBA1C]
    annotation_save(sentence=s, actor=members["annotator"], version=0, status=AnnotationStatus.SUBMITTED,
                    mentions=[{"id": "1", "type": "Measurement", "fragments": [[0, 5]]}])
    Annotation.objects.filter(sentence=s).update(updated_at=data["version"].predictions.get(sentence=s).created_at)
    rates = {(r["version"], r["type"]): r for r in dashboard.suggestion_rates(project=project)}
    assert rates[(1, "Measurement")]["accepted"] == 1 and rates[(1, "Temporal")]["rejected"] == 1
