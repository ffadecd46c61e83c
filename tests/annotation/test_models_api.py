"""Model-version and suggestion endpoints, for every role and for anonymous users."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import Document, ModelStatus, ModelVersion, Sentence, SentencePrediction

pytestmark = pytest.mark.django_db

ROLES = ["admin", "curator", "annotator", "viewer", "outsider", None]


@pytest.fixture
def versions(project):
    active = ModelVersion.objects.create(project=project, number=1, architecture="span.v1",
                                         status=ModelStatus.ACTIVE, artifact_path="/m/1",
                                         metrics={"entities": {"micro": {"f1": 0.5}}})
    rejected = ModelVersion.objects.create(project=project, number=2, architecture="span.v1",
                                           status=ModelStatus.REJECTED, artifact_path="/m/2")
    return active, rejected


@pytest.fixture
def sentence(project):
    doc = Document.objects.create(project=project, external_id="NCT1_inc", text="HbA1c > 7%")
    return Sentence.objects.create(project=project, document=doc, position=0, start=0, end=10, text="HbA1c > 7%")


def _refused(r, who):
    if who is None:
        return r.status_code in (401, 403)
    if who == "outsider":
        return r.status_code == 404
    return r.status_code == 403


@pytest.mark.parametrize("who", ROLES)
def test_list_versions(who, client_for, project, versions):
    r = client_for(who).get(reverse("api-model-list", kwargs={"project_id": project.pk}))
    if who in ("admin", "curator", "annotator", "viewer"):
        assert r.status_code == 200
        assert [v["number"] for v in r.json()] == [2, 1]
        assert r.json()[1]["status"] == "active"
        assert "artifact_path" not in r.json()[0]
    else:
        assert _refused(r, who)


@pytest.mark.parametrize("who", ROLES)
def test_request_training(who, client_for, project):
    r = client_for(who).post(reverse("api-model-list", kwargs={"project_id": project.pk}), {"reason": "why not"},
                             format="json")
    if who == "admin":
        assert r.status_code == 202
        assert r.json()["status"] == "queued" and r.json()["number"] == 1
        r2 = client_for(who).post(reverse("api-model-list", kwargs={"project_id": project.pk}), {}, format="json")
        assert r2.json()["id"] == r.json()["id"]
        assert ModelVersion.objects.filter(project=project).count() == 1
    else:
        assert _refused(r, who)
        assert not ModelVersion.objects.filter(project=project).exists()


@pytest.mark.parametrize("who", ROLES)
def test_promote(who, client_for, project, versions):
    active, rejected = versions
    r = client_for(who).post(reverse("api-model-promote", kwargs={"project_id": project.pk,
                                                                  "version_id": rejected.pk}))
    active.refresh_from_db()
    rejected.refresh_from_db()
    if who == "admin":
        assert r.status_code == 200 and r.json()["status"] == "active"
        assert (active.status, rejected.status) == (ModelStatus.RETIRED, ModelStatus.ACTIVE)
    else:
        assert _refused(r, who)
        assert (active.status, rejected.status) == (ModelStatus.ACTIVE, ModelStatus.REJECTED)


def test_promote_refuses_unfinished_and_other_projects(client_for, project, versions, members):
    from annotation.services import project_create

    failed = ModelVersion.objects.create(project=project, number=3, architecture="span.v1", status=ModelStatus.FAILED)
    c = client_for("admin")
    r = c.post(reverse("api-model-promote", kwargs={"project_id": project.pk, "version_id": failed.pk}))
    assert r.status_code == 400
    other = project_create(name="other", created_by=members["admin"])
    r = c.post(reverse("api-model-promote", kwargs={"project_id": other.pk, "version_id": versions[1].pk}))
    assert r.status_code == 404


@pytest.mark.parametrize("who", ROLES)
def test_suggestions(who, client_for, project, versions, sentence):
    SentencePrediction.objects.create(
        sentence=sentence, model_version=versions[0], score=1.0, uncertainty={"score": 0.2},
        mentions=[{"type": "Measurement", "fragments": [[0, 5]], "score": 0.9}], relations=[],
    )
    r = client_for(who).get(reverse("api-suggestions", kwargs={"project_id": project.pk, "sentence_id": sentence.pk}))
    if who in ("admin", "curator", "annotator", "viewer"):
        assert r.status_code == 200
        body = r.json()
        assert body["model_version"] == 1
        assert body["mentions"] == [{"type": "Measurement", "fragments": [[0, 5]], "score": 0.9}]
    else:
        assert _refused(r, who)


def test_suggestions_without_a_model_are_empty(client_for, project, sentence):
    r = client_for("annotator").get(reverse("api-suggestions", kwargs={"project_id": project.pk,
                                                                       "sentence_id": sentence.pk}))
    assert r.status_code == 200 and r.json()["mentions"] == [] and r.json()["model_version"] is None


def test_queue_uses_precomputed_scores_and_falls_back_to_document_order(client_for, project, versions, members):
    from annotation import services

    doc = Document.objects.create(project=project, external_id="NCT2_inc", text="a\nb\nc")
    s = [Sentence.objects.create(project=project, document=doc, position=i, start=2 * i, end=2 * i + 1, text=t)
         for i, t in enumerate("abc")]
    user = members["annotator"]
    assert services.next_sentence_for(project=project, user=user) == s[0]  # no predictions yet
    for sent, score in zip(s, [1.0, 3.0, 2.0], strict=True):
        SentencePrediction.objects.create(sentence=sent, model_version=versions[0], score=score)
    assert services.next_sentence_for(project=project, user=user) == s[1]
    # Predictions of a version that is not active are ignored.
    SentencePrediction.objects.filter(sentence=s[0]).update(model_version=versions[1], score=99.0)
    assert services.next_sentence_for(project=project, user=user) == s[1]
    project.queue_strategy = "sequential"
    project.save()
    assert services.next_sentence_for(project=project, user=user) == s[0]


def test_queue_done_hints_follow_annotations_and_the_queue_corrects_stale_ones(project, members, settings):
    from annotation import services
    from annotation.services.project_settings import project_settings_update
    from tests.factories import UserFactory

    settings.TRIALMARK_QUEUE_RESERVE_MINUTES = 0  # the hints alone (reservations: test_queue_reservations_*)

    doc = Document.objects.create(project=project, external_id="NCT3_inc", text="a\nb\nc")
    s = [Sentence.objects.create(project=project, document=doc, position=i, start=2 * i, end=2 * i + 1, text=t)
         for i, t in enumerate("abc")]
    project.queue_strategy = "sequential"
    project.save()
    done = lambda: [x.queue_done for x in Sentence.objects.filter(pk__in=[x.pk for x in s]).order_by("pk")]  # noqa: E731
    annotator, curator = members["annotator"], members["curator"]
    colleague = UserFactory(username="colleague")
    services.membership_set(project=project, user=colleague, role="annotator")
    # a draft leaves the sentence in the queue; submitting takes it out; a gold save too
    a = services.annotation_save(sentence=s[0], actor=colleague, version=0, mentions=[])
    assert done() == [False, False, False]
    services.annotation_submit(sentence=s[0], actor=colleague, version=a.version)
    services.annotation_save(sentence=s[1], actor=curator, gold=True, version=0, mentions=[])
    assert done() == [True, True, False]
    assert services.next_sentence_for(project=project, user=annotator) == s[2]
    # saving it back as a draft (un-submitting) puts it back
    services.annotation_save(sentence=s[0], actor=colleague, version=a.version + 1, mentions=[], status="submitted")
    assert done()[0] is True
    services.annotation_save(sentence=s[0], actor=colleague, version=a.version + 2, mentions=[], status="draft")
    assert done()[0] is False
    services.annotation_save(sentence=s[0], actor=colleague, version=a.version + 3, mentions=[], status="submitted")
    # two annotators per sentence: one submission no longer finishes it
    project_settings_update(project=project, annotators_per_sentence=2)
    assert done() == [False, True, False]
    assert services.next_sentence_for(project=project, user=annotator) == s[0]
    project_settings_update(project=project, annotators_per_sentence=1)
    assert done() == [True, True, False]
    # a stale hint (the submitter deleted: their annotation goes by cascade, nothing refreshes) does not
    # lose the sentence: with s[2] taken, the queue refreshes the hints before answering "empty"
    services.annotation_save(sentence=s[2], actor=annotator, version=0, mentions=[], status="submitted")
    colleague.delete()
    assert done() == [True, True, True]
    assert services.next_sentence_for(project=project, user=curator) == s[0]
    assert done() == [False, True, True]
