"""Every endpoint for every role and for anonymous users; stale writes get 409."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from annotation.models import Annotation, Document, Sentence
from annotation.services import annotation_save

pytestmark = pytest.mark.django_db

ROLES = ["admin", "curator", "annotator", "viewer", "outsider", None]


@pytest.fixture
def sentence(project):
    doc = Document.objects.create(project=project, external_id="NCT1_inc", group_key="NCT1", section="inclusion",
                                  text="HbA1c > 7% within 3 months\nAdults")
    s = Sentence.objects.create(project=project, document=doc, position=0, start=0, end=26,
                                text="HbA1c > 7% within 3 months")
    Sentence.objects.create(project=project, document=doc, position=1, start=27, end=33, text="Adults")
    return s


def payload(version=0, status="draft"):
    return {
        "version": version,
        "status": status,
        "mentions": [
            {"id": "m1", "type": "Measurement", "fragments": [[0, 5]]},
            {"id": "m2", "type": "Value", "fragments": [[6, 10]]},
            {"id": "m3", "type": "Temporal", "fragments": [[11, 26]]},
        ],
        "relations": [{"type": "Has_value", "head": "m1", "tail": "m2"},
                      {"type": "Has_temporal", "head": "m1", "tail": "m3"}],
    }


def expect(who, allowed, response, ok=(200,)):
    if who is None:
        assert response.status_code in (401, 403), response.content
    elif who == "outsider":
        assert response.status_code == 404, response.content
    elif who in allowed:
        assert response.status_code in ok, response.content
    else:
        assert response.status_code == 403, response.content


EVERYONE = {"admin", "curator", "annotator", "viewer"}
WRITERS = {"admin", "curator", "annotator"}


@pytest.mark.parametrize("who", ROLES)
def test_read_endpoints(client_for, project, sentence, who):
    c = client_for(who)
    pid = project.pk
    for name, kwargs in [
        ("api-project-detail", {}),
        ("api-schema", {}),
        ("api-member-list", {}),
        ("api-document-list", {}),
        ("api-document-detail", {"document_id": sentence.document_id}),
        ("api-sentence-detail", {"sentence_id": sentence.pk}),
    ]:
        expect(who, EVERYONE, c.get(reverse(name, kwargs={"project_id": pid, **kwargs})))


@pytest.mark.parametrize("who", ROLES)
def test_project_list_shows_only_own_projects(client_for, project, who):
    response = client_for(who).get(reverse("api-project-list"))
    if who is None:
        assert response.status_code in (401, 403)
        return
    names = [p["name"] for p in response.json()]
    assert names == ([] if who == "outsider" else [project.name])


@pytest.mark.parametrize("who", ROLES)
def test_project_create(client_for, who):
    response = client_for(who).post(reverse("api-project-create"), {"name": f"new {who}"}, format="json")
    if who is None:
        assert response.status_code in (401, 403)
    else:  # any signed-in user may start a project, and becomes its admin
        assert response.status_code == 201
        assert response.json()["name"] == f"new {who}"


@pytest.mark.parametrize("who", ROLES)
def test_admin_only_writes(client_for, project, members, who):
    c = client_for(who)
    pid = project.pk
    r = c.patch(reverse("api-project-detail", kwargs={"project_id": pid}), {"description": "x"}, format="json")
    expect(who, {"admin"}, r)
    schema = {"entity_types": [{"name": "Device"}], "relation_types": []}
    expect(who, {"admin"}, c.put(reverse("api-schema", kwargs={"project_id": pid}), schema, format="json"))
    r = c.post(reverse("api-member-list", kwargs={"project_id": pid}),
               {"username": "outsider-user", "role": "viewer"}, format="json")
    expect(who, {"admin"}, r, ok=(201,))
    r = c.patch(reverse("api-member-detail", kwargs={"project_id": pid, "user_id": members["viewer"].pk}),
                {"role": "annotator"}, format="json")
    expect(who, {"admin"}, r)


def test_last_admin_cannot_leave(client_for, project, members):
    r = client_for("admin").delete(reverse("api-member-detail",
                                           kwargs={"project_id": project.pk, "user_id": members["admin"].pk}))
    assert r.status_code == 403 and r.json()["code"] == "not_allowed"


@pytest.mark.parametrize("who", ROLES)
def test_own_annotation_write_and_submit(client_for, project, sentence, who):
    c = client_for(who)
    url = reverse("api-my-annotation", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})
    r = c.put(url, payload(), format="json")
    expect(who, WRITERS, r)
    if who in WRITERS:
        body = r.json()
        assert body["version"] == 1 and len(body["mentions"]) == 3 and len(body["relations"]) == 2
        assert c.get(url).json()["version"] == 1
    r = c.post(reverse("api-submit", kwargs={"project_id": project.pk, "sentence_id": sentence.pk}),
               {"version": 1 if who in WRITERS else 0}, format="json")
    expect(who, WRITERS, r)
    if who in WRITERS:
        assert r.json()["status"] == "submitted"


@pytest.mark.parametrize("who", ROLES)
def test_gold_write(client_for, project, sentence, who):
    url = reverse("api-gold-annotation", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})
    r = client_for(who).put(url, payload(), format="json")
    expect(who, {"admin", "curator"}, r)
    if who in ("admin", "curator"):
        assert Annotation.objects.get(sentence=sentence, annotator=None).status == "gold"


def test_stale_version_gets_409_with_current_state(client_for, project, sentence):
    c = client_for("annotator")
    url = reverse("api-my-annotation", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})
    assert c.put(url, payload(0), format="json").status_code == 200
    assert c.put(url, payload(1), format="json").status_code == 200  # now version 2
    stale = payload(1)
    stale["mentions"] = stale["mentions"][:1]
    stale["relations"] = []
    r = c.put(url, stale, format="json")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "version_conflict"
    assert body["details"]["version"] == 2 and len(body["details"]["mentions"]) == 3
    # Nothing was overwritten.
    assert Annotation.objects.get(sentence=sentence).mentions.count() == 3
    # A second "first save" of the same sentence conflicts as well.
    assert c.put(url, payload(0), format="json").status_code == 409


def test_written_state_is_what_a_read_returns(client_for, project, sentence):
    """A save answers with the state it wrote without reading it back: it must be exactly what a GET
    returns, for a first save and for a save that replaces mentions, relations and groups."""
    from annotation.models import Mention, MentionGroup, Relation

    c = client_for("annotator")
    url = reverse("api-my-annotation", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})
    body = payload(0)
    # listed out of offset order, a discontinuous mention, a group naming a member twice
    body["mentions"] = [body["mentions"][2], {"id": "d", "type": "Value", "fragments": [[11, 17], [6, 10]]},
                        *body["mentions"][:2]]
    body["relations"] = list(reversed(body["relations"]))
    body["groups"] = [{"type": "OR", "members": ["m3", "m2", "m3"]}, {"type": "OR", "members": ["d", "m1"]}]
    first = c.put(url, body, format="json")
    assert first.status_code == 200
    assert first.json() == c.get(url).json()
    assert [m["fragments"] for m in first.json()["mentions"]] == [[[0, 5]], [[6, 10]], [[6, 10], [11, 17]], [[11, 26]]]
    assert len(first.json()["groups"][0]["members"]) == 2
    # replace everything: the old rows go, the answer is again what a read returns
    again = payload(1)
    again["mentions"] = again["mentions"][:2]
    again["relations"] = again["relations"][:1]
    again["groups"] = [{"type": "OR", "members": ["m1", "m2"]}]
    second = c.put(url, again, format="json")
    assert second.status_code == 200
    assert second.json() == c.get(url).json()
    annotation = Annotation.objects.get(sentence=sentence)
    assert Mention.objects.filter(annotation=annotation).count() == Mention.objects.count() == 2
    assert Relation.objects.count() == 1 and MentionGroup.objects.count() == 1
    assert MentionGroup.members.through.objects.count() == 2
    # an emptied annotation leaves no rows behind
    assert c.put(url, {**payload(2), "mentions": [], "relations": []}, format="json").json()["mentions"] == []
    assert Mention.objects.count() == Relation.objects.count() == MentionGroup.objects.count() == 0
    assert MentionGroup.members.through.objects.count() == 0


def _page(version, seq, n_mentions, page="page-a"):
    body = payload(version)
    body["mentions"] = body["mentions"][:n_mentions]
    body["relations"] = body["relations"][: max(0, n_mentions - 1)]
    return {**body, "client_id": page, "client_seq": seq}


def test_a_pages_own_racing_saves_keep_its_newest_state(client_for, project, sentence):
    """The keepalive a closing page sends while its last autosave is in flight carries the version that
    autosave edited: it must not be refused (the newest work would be lost), nor an older state win."""
    c = client_for("annotator")
    url = reverse("api-my-annotation", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})
    mentions = lambda: Annotation.objects.get(sentence=sentence).mentions.count()  # noqa: E731
    # two first saves of one page race: the autosave (state 1) lands, then the keepalive (state 2, version 0)
    assert c.put(url, _page(0, 1, 1), format="json").status_code == 200
    r = c.put(url, _page(0, 2, 2), format="json")
    assert r.status_code == 200 and r.json()["version"] == 2 and mentions() == 2
    # out of order: state 4 (version 2) lands before state 3 (also version 2): 3 changes nothing
    assert c.put(url, _page(2, 4, 3), format="json").json()["version"] == 3
    r = c.put(url, _page(2, 3, 1), format="json")
    assert r.status_code == 200 and r.json()["version"] == 3 and mentions() == 3
    # another page of the same user (a second tab) editing version 2 conflicts as before
    assert c.put(url, _page(2, 9, 1, page="page-b"), format="json").status_code == 409
    # once someone else wrote in between (here a client without a page id), page a's stale save conflicts
    assert c.put(url, payload(3), format="json").status_code == 200  # version 4
    r = c.put(url, _page(3, 5, 1), format="json")
    assert r.status_code == 409 and mentions() == 3


def test_invalid_annotation_input_is_refused_with_a_reason(client_for, project, sentence):
    c = client_for("annotator")
    url = reverse("api-my-annotation", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})
    bad = payload()
    bad["mentions"][0]["fragments"] = [[0, 99]]
    r = c.put(url, bad, format="json")
    assert r.status_code == 400 and "outside the sentence" in r.json()["detail"]
    bad = payload()
    bad["relations"] = [{"type": "Has_value", "head": "m1", "tail": "m3"}]  # tail must be a Value
    r = c.put(url, bad, format="json")
    assert r.status_code == 400 and "does not take a Temporal tail" in r.json()["detail"]
    assert not Annotation.objects.exists()


def test_annotators_do_not_see_each_others_work(client_for, project, sentence, members):
    annotation_save(sentence=sentence, actor=members["curator"], version=0, mentions=[])
    url = reverse("api-sentence-detail", kwargs={"project_id": project.pk, "sentence_id": sentence.pk})
    assert client_for("annotator").get(url).json()["annotations"] == []
    assert len(client_for("curator").get(url).json()["annotations"]) == 1
    project.annotators_see_others = True
    project.save()
    assert len(client_for("annotator").get(url).json()["annotations"]) == 1


@pytest.mark.parametrize("who", ROLES)
def test_queue_next(client_for, project, sentence, who):
    r = client_for(who).get(reverse("api-queue-next", kwargs={"project_id": project.pk}))
    expect(who, WRITERS, r)
    if who in WRITERS:
        assert r.json()["id"] == sentence.pk


def test_queue_next_brings_the_sentence_with_context_and_own_draft(client_for, project, sentence, members):
    """One round trip gives the editor everything: text, offsets, section, neighbours, the strategy,
    and the annotations this user may see (their own draft, not another annotator's)."""
    annotation_save(sentence=sentence, actor=members["annotator"], version=0, status="draft",
                    mentions=[{"id": "a", "type": "Measurement", "fragments": [[0, 5]]}])
    annotation_save(sentence=sentence, actor=members["curator"], version=0, status="draft",
                    mentions=[{"id": "b", "type": "Value", "fragments": [[6, 10]]}])
    r = client_for("annotator").get(reverse("api-queue-next", kwargs={"project_id": project.pk}))
    body = r.json()
    assert (body["id"], body["start"], body["end"], body["section"]) == (sentence.pk, 0, 26, "inclusion")
    assert body["previous"] is None and body["next"] == "Adults"
    assert body["strategy"] == project.queue_strategy
    assert [a["annotator"] for a in body["annotations"]] == [members["annotator"].username]
    assert [m["type"] for m in body["annotations"][0]["mentions"]] == ["Measurement"]


def test_queue_skips_what_is_done(client_for, project, sentence, members):
    c = client_for("annotator")
    url = reverse("api-queue-next", kwargs={"project_id": project.pk})
    annotation_save(sentence=sentence, actor=members["annotator"], version=0, mentions=[], status="submitted")
    nxt = c.get(url).json()
    assert nxt["text"] == "Adults"
    Annotation.objects.create(sentence_id=nxt["id"], annotator=None, status="gold")
    assert c.get(url).status_code == 204


def _brat_zip(ann: str) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("NCT7_inc.txt", "Adults with asthma\n")
        zf.writestr("NCT7_inc.ann", ann)
    buf.seek(0)
    buf.name = "upload.zip"
    return buf


@pytest.mark.parametrize("who", ROLES)
def test_import_upload_and_status(client_for, project, who, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    c = client_for(who)
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(reverse("api-import-create", kwargs={"project_id": project.pk}),
                   {"file": _brat_zip("T1\tCondition 12 18\tasthma\n"), "format": "brat"}, format="multipart")
    expect(who, {"admin"}, r, ok=(202,))
    if who != "admin":
        assert not Document.objects.exists()
        return
    job = c.get(reverse("api-import-detail", kwargs={"project_id": project.pk, "job_id": r.json()["id"]})).json()
    assert job["status"] == "succeeded" and job["summary"]["mentions"] == 1


def test_import_upload_malformed_reports_problems(client_for, project, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    c = client_for("admin")
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(reverse("api-import-create", kwargs={"project_id": project.pk}),
                   {"file": _brat_zip("T1\tCondition 12 18\tasthma\nR1\tHas_value Arg1:T1 Arg2:T5\t\n"),
                    "format": "brat"}, format="multipart")
    job = c.get(reverse("api-import-detail", kwargs={"project_id": project.pk, "job_id": r.json()["id"]})).json()
    assert job["status"] == "failed"
    assert any(p.startswith("NCT7_inc.ann:2:") for p in job["problems"]), job["problems"]
    assert not Document.objects.exists()


@pytest.mark.parametrize("who", ROLES)
def test_export_download(client_for, project, sentence, who):
    annotation_save(sentence=sentence, actor=None, gold=True, version=0, mentions=payload()["mentions"])  # type: ignore[arg-type]
    r = client_for(who).get(reverse("api-export", kwargs={"project_id": project.pk}), {"format": "brat"})
    expect(who, {"admin", "curator", "viewer"}, r)
    if r.status_code == 200:
        data = b"".join(r.streaming_content)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert "Measurement 0 5\tHbA1c" in zf.read("NCT1_inc.ann").decode()


def test_openapi_schema_and_docs(client_for):
    c = client_for("admin")
    assert c.get("/api/schema/").status_code == 200
    assert c.get("/api/docs/").status_code == 200


def test_token_auth(project, members):
    from rest_framework.test import APIClient

    c = APIClient()
    r = c.post(reverse("api-token"), {"username": "viewer-user", "password": "pw-for-tests"}, format="json")
    token = r.json()["token"]
    c.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert c.get(reverse("api-project-detail", kwargs={"project_id": project.pk})).json()["role"] == "viewer"
    bad = APIClient().post(reverse("api-token"), {"username": "viewer-user", "password": "no"}, format="json")
    assert bad.status_code == 400


def test_model_config_through_the_api(client_for, project):
    admin = client_for("admin")
    url = reverse("api-project-detail", kwargs={"project_id": project.pk})
    r = admin.patch(url, {"architecture": "tagger.v1", "model_config": {"crf": True, "re_head": "re_m1"}}, format="json")
    assert r.status_code == 200 and r.json()["model_config"] == {"crf": True, "re_head": "re_m1"}
    r = admin.patch(url, {"model_config": {"crf": "yes"}}, format="json")
    assert r.status_code == 400 and "crf must be true or false" in r.json()["detail"]
    r = admin.patch(url, {"architecture": "span.v1"}, format="json")  # crf is no span.v1 setting
    assert r.status_code == 400 and "not a setting of span.v1" in r.json()["detail"]
    project.refresh_from_db()
    assert (project.architecture, project.model_config) == ("tagger.v1", {"crf": True, "re_head": "re_m1"})
    versions = reverse("api-model-list", kwargs={"project_id": project.pk})
    r = admin.post(versions, {"config": {"biaffine": "linear"}}, format="json")
    assert r.status_code == 400 and "applies to re_head='re_m2' only" in r.json()["detail"]
    r = admin.post(versions, {"config": {"epochs": 1}}, format="json")
    assert r.status_code == 202 and r.json()["config"] == {"crf": True, "re_head": "re_m1", "epochs": 1,
                                                           "min_steps": 200}  # TRIALMARK_MIN_TRAIN_STEPS
