"""Settings pages for admins (project settings, label schema, guideline), the guideline page for every
member, the project overview's model card, and which role sees which navigation and buttons."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import (
    EntityType,
    Mention,
    ModelStatus,
    ModelVersion,
    Project,
    RelationType,
    SentencePrediction,
)

from ...review_data import build

pytestmark = pytest.mark.django_db


def url(name: str, project) -> str:
    return reverse(name, kwargs={"project_id": project.pk})


def follow(client, response) -> str:
    assert response.status_code == 302, response
    return client.get(response["Location"]).content.decode()


SETTINGS = {"description": "Diabetes trials", "queue_strategy": "entropy", "annotators_per_sentence": "2",
            "annotators_see_others": "on", "retrain_min_new_gold": "25", "promotion_tolerance": "0.02",
            "architecture": "tagger.v1", "encoder": ""}


# --- access -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["project-settings", "schema-settings", "guideline-edit", "members-settings"])
@pytest.mark.parametrize(("who", "status"), [
    ("admin", 200), ("curator", 403), ("annotator", 403), ("viewer", 403), ("outsider", 404), (None, 302)])
def test_settings_pages_are_for_admins(web, project, name, who, status):
    assert web(who).get(url(name, project)).status_code == status
    if status != 200:
        web(who).post(url("project-settings", project), SETTINGS)
        web(who).post(url("schema-settings", project), {"action": "et_add", "name": "Sneaky"})
        web(who).post(url("guideline-edit", project), {"guideline": "hacked", "action": "save"})
        web(who).post(url("members-settings", project), {"action": "add", "username": "outsider-user",
                                                          "role": "admin"})
        assert not project.memberships.filter(user__username="outsider-user").exists()
        project.refresh_from_db()
        assert project.queue_strategy != "entropy" and project.guideline != "hacked"
        assert not EntityType.objects.filter(project=project, name="Sneaky").exists()


@pytest.mark.parametrize(("who", "status"), [
    ("admin", 200), ("curator", 200), ("annotator", 200), ("viewer", 200), ("outsider", 404), (None, 302)])
def test_guideline_page_is_for_every_member(web, project, who, status):
    assert web(who).get(url("guideline", project)).status_code == status


NAV = {
    # role: (Review link, Settings link)
    "admin": (True, True), "curator": (True, False), "annotator": (False, False), "viewer": (False, False),
}


@pytest.mark.parametrize("who", list(NAV))
def test_navigation_and_buttons_follow_the_role(web, project, who):
    html = web(who).get(url("project-detail", project)).content.decode()
    review, settings = NAV[who]
    assert (f'href="{url("review-list", project)}"' in html) is review
    assert (f'href="{url("project-settings", project)}"' in html) is settings
    assert (f'href="{url("import-create", project)}"' in html) is (who == "admin")
    assert f'href="{url("guideline", project)}"' in html
    guideline = web(who).get(url("guideline", project)).content.decode()
    assert (f'href="{url("guideline-edit", project)}"' in guideline) is (who == "admin")


# --- project settings ---------------------------------------------------------------------------------------


def test_admin_changes_the_project_settings(web, project):
    admin = web("admin")
    html = follow(admin, admin.post(url("project-settings", project), SETTINGS))
    assert "Settings saved." in html
    p = Project.objects.get(pk=project.pk)
    assert (p.description, p.queue_strategy, p.annotators_per_sentence, p.annotators_see_others,
            p.retrain_min_new_gold, p.promotion_tolerance, p.architecture) == (
        "Diabetes trials", "entropy", 2, True, 25, 0.02, "tagger.v1")
    assert p.allow_new_labels is False  # unticked box: off


def test_bad_settings_are_refused_with_the_reason(web, project):
    r = web("admin").post(url("project-settings", project),
                          {**SETTINGS, "promotion_tolerance": "1.5", "architecture": "gpt.v9"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "less than or equal to 1" in html and "Select a valid choice" in html
    assert Project.objects.get(pk=project.pk).queue_strategy == project.queue_strategy



def test_model_config_is_checked_against_the_architecture(web, project):
    admin = web("admin")
    good = {**SETTINGS, "architecture": "span.v1", "model_config": '{"epochs": 5, "rel_context": "sentence"}'}
    assert "Settings saved." in follow(admin, admin.post(url("project-settings", project), good))
    assert Project.objects.get(pk=project.pk).model_config == {"epochs": 5, "rel_context": "sentence"}
    for bad, reason in [
        ('{"rel_context": "paragraph"}', "rel_context must be one of"),
        ('{"epochs": "five"}', "epochs must be an integer"),
        ('{"dropout_rate": 0.2}', "dropout_rate: not a setting of span.v1"),
        ("[1, 2]", "A JSON object of settings"),
        ("{epochs: 5", "Enter a valid JSON"),
    ]:
        r = admin.post(url("project-settings", project), {**good, "model_config": bad})
        assert r.status_code == 200 and reason in r.content.decode(), bad
    # a switch of architecture the config does not fit is refused as a whole
    r = admin.post(url("project-settings", project), {**good, "architecture": "tagger.v1"})
    assert r.status_code == 200 and "rel_context: not a setting of tagger.v1" in r.content.decode()
    p = Project.objects.get(pk=project.pk)
    assert (p.architecture, p.model_config) == ("span.v1", {"epochs": 5, "rel_context": "sentence"})
    # emptied: back to the defaults
    follow(admin, admin.post(url("project-settings", project), {**good, "model_config": ""}))
    assert Project.objects.get(pk=project.pk).model_config == {}

# --- schema ---------------------------------------------------------------------------------------------------


def test_admin_adds_renames_recolours_and_deletes_entity_types(web, project):
    admin = web("admin")
    html = follow(admin, admin.post(url("schema-settings", project),
                                    {"action": "et_add", "name": "Procedure", "colour": "#123456", "hotkey": "p"}))
    assert "Entity type Procedure added." in html
    et = EntityType.objects.get(project=project, name="Procedure")
    assert (et.colour, et.hotkey) == ("#123456", "p")
    html = follow(admin, admin.post(url("schema-settings", project),
                                    {"action": "et_update", "id": et.pk, "name": "Surgery", "colour": "#abcdef",
                                     "hotkey": "s"}))
    assert "Entity type Procedure saved as Surgery." in html
    et.refresh_from_db()
    assert (et.name, et.colour, et.hotkey) == ("Surgery", "#abcdef", "s")
    html = follow(admin, admin.post(url("schema-settings", project), {"action": "et_delete", "id": et.pk}))
    assert "Entity type Surgery deleted." in html
    assert not EntityType.objects.filter(pk=et.pk).exists()


def test_schema_refusals_say_why(web, project):
    admin = web("admin")
    drug = EntityType.objects.get(project=project, name="Drug")
    html = follow(admin, admin.post(url("schema-settings", project),
                                    {"action": "et_update", "id": drug.pk, "name": "Drug", "colour": "#000000",
                                     "hotkey": "c"}))
    assert "Hotkey &#x27;c&#x27; is already used by Condition." in html
    html = follow(admin, admin.post(url("schema-settings", project),
                                    {"action": "et_update", "id": drug.pk, "name": "Drug", "colour": "red"}))
    assert "&#x27;red&#x27; is not a colour; write it as #rrggbb." in html
    html = follow(admin, admin.post(url("schema-settings", project), {"action": "et_add", "name": "Condition"}))
    assert "There is already an entity type named Condition." in html
    value = EntityType.objects.get(project=project, name="Value")
    html = follow(admin, admin.post(url("schema-settings", project), {"action": "et_delete", "id": value.pk}))
    assert "Value is named as an allowed head or tail of Has_value" in html
    assert EntityType.objects.filter(pk=value.pk).exists()


def test_used_types_cannot_be_deleted_and_rename_keeps_mentions_and_predictions(web, project):
    data = build(project)
    admin = web("admin")
    temporal = EntityType.objects.get(project=project, name="Temporal")
    n = Mention.objects.filter(entity_type=temporal).count()
    assert n == 2
    html = follow(admin, admin.post(url("schema-settings", project), {"action": "et_delete", "id": temporal.pk}))
    assert "Temporal is used by 2 mention(s) in 1 sentence(s)" in html
    rt = RelationType.objects.get(project=project, name="Has_temporal")
    html = follow(admin, admin.post(url("schema-settings", project), {"action": "rt_delete", "id": rt.pk}))
    assert "Has_temporal is used by 1 relation(s) in 1 sentence(s)" in html
    version = ModelVersion.objects.create(project=project, number=1, architecture="span.v1",
                                          status=ModelStatus.ACTIVE)
    pred = SentencePrediction.objects.create(
        sentence=data["sentence"], model_version=version,
        mentions=[{"type": "Temporal", "fragments": [[32, 47]], "score": 0.9},
                  {"type": "Value", "fragments": [[27, 31]], "score": 0.8}],
        relations=[{"type": "Has_temporal", "head": 1, "tail": 0, "score": 0.5}])
    follow(admin, admin.post(url("schema-settings", project),
                             {"action": "et_update", "id": temporal.pk, "name": "Timing", "colour": temporal.colour,
                              "hotkey": "t"}))
    follow(admin, admin.post(url("schema-settings", project),
                             {"action": "rt_update", "id": rt.pk, "name": "Has_timing",
                              "allowed_tails": [str(temporal.pk)]}))
    assert Mention.objects.filter(entity_type__name="Timing").count() == 2
    pred.refresh_from_db()
    assert [m["type"] for m in pred.mentions] == ["Timing", "Value"]
    assert pred.relations[0]["type"] == "Has_timing"


def test_relation_types_added_restricted_and_refused_when_relations_would_break(web, project):
    build(project)
    admin = web("admin")
    ids = {et.name: str(et.pk) for et in EntityType.objects.filter(project=project)}
    html = follow(admin, admin.post(url("schema-settings", project),
                                    {"action": "rt_add", "name": "Has_dose", "allowed_heads": [ids["Drug"]],
                                     "allowed_tails": [ids["Value"]]}))
    assert "Relation type Has_dose added." in html
    rt = RelationType.objects.get(project=project, name="Has_dose")
    assert [e.name for e in rt.allowed_heads.all()] == ["Drug"] and not rt.symmetric
    # Has_value relations have a Measurement head: restricting heads to Condition would break them.
    hv = RelationType.objects.get(project=project, name="Has_value")
    html = follow(admin, admin.post(url("schema-settings", project),
                                    {"action": "rt_update", "id": hv.pk, "name": "Has_value",
                                     "allowed_heads": [ids["Condition"]], "allowed_tails": [ids["Value"]]}))
    assert "2 existing Has_value relation(s) have a head of another type" in html
    assert sorted(e.name for e in hv.allowed_heads.all()) == ["Condition", "Measurement"]
    html = follow(admin, admin.post(url("schema-settings", project),
                                    {"action": "rt_update", "id": rt.pk, "name": "Has_dose", "symmetric": "on"}))
    rt.refresh_from_db()
    assert rt.symmetric and not rt.allowed_heads.exists()
    html = follow(admin, admin.post(url("schema-settings", project), {"action": "rt_delete", "id": rt.pk}))
    assert "Relation type Has_dose deleted." in html


def test_schema_page_lists_types_with_usage(web, project):
    build(project)
    html = web("admin").get(url("schema-settings", project)).content.decode()
    assert 'data-type="Temporal"' in html and 'data-type="Has_value"' in html
    assert 'value="#' in html


# --- guideline ----------------------------------------------------------------------------------------------


GUIDE = ("# Conditions\n\nMark **diseases**, not symptoms.\n\n| Type | Example |\n|---|---|\n| Value | > 7% |\n\n"
         "<script>alert('x')</script><img src=x onerror=alert(1)>[bad](javascript:alert(1))")


def test_admin_edits_the_guideline_and_members_read_it_sanitised(web, project):
    admin = web("admin")
    preview = admin.post(url("guideline-edit", project), {"guideline": GUIDE, "action": "preview"})
    assert "Preview (not saved)" in preview.content.decode() and "<strong>diseases</strong>" in preview.content.decode()
    assert Project.objects.get(pk=project.pk).guideline == ""
    before = project.guideline_version
    html = follow(admin, admin.post(url("guideline-edit", project), {"guideline": GUIDE, "action": "save"}))
    assert f"Guideline saved (version {before + 1})." in html
    page = web("annotator").get(url("guideline", project)).content.decode()
    body = page[page.index('id="guideline"'):]
    assert '<h1 id="conditions">Conditions</h1>' in body and "<td>&gt; 7%</td>" in body
    assert "<script>alert" not in body and "onerror" not in body and "javascript:" not in body and "<img" not in body
    html = follow(admin, admin.post(url("guideline-edit", project), {"guideline": GUIDE, "action": "save"}))
    assert "The guideline has not changed." in html
    assert Project.objects.get(pk=project.pk).guideline_version == before + 1


# --- overview -----------------------------------------------------------------------------------------------


def test_overview_shows_states_active_model_and_training(web, project):
    build(project)
    ModelVersion.objects.create(project=project, number=1, architecture="span.v1", status=ModelStatus.ACTIVE,
                                trained_on_gold_count=40,
                                metrics={"entities": {"micro": {"f1": 71.234}}, "relations": {"micro": {"f1": 44.5}}})
    ModelVersion.objects.create(project=project, number=2, architecture="span.v1", status=ModelStatus.TRAINING,
                                progress={"phase": "train", "epoch": 2, "epochs": 4, "percent": 37.5, "eta_s": 95,
                                          "loss": 0.4321})
    html = web("viewer").get(url("project-detail", project)).content.decode()
    assert "Version 1" in html and "entity F1 <span class=\"figure\">71.2</span>" in html
    assert 'data-training=' in html and 'style="width: 37.5%"' in html and "epoch 2 of 4" in html
    assert f'data-models-api="/api/projects/{project.pk}/models/"' in html
    assert "3 / 3" in html  # all three sentences submitted


@pytest.mark.parametrize(("who", "linked"), [("admin", True), ("curator", True), ("annotator", False),
                                             ("viewer", False)])
def test_document_page_links_sentences_to_review_for_curators(web, project, who, linked):
    data = build(project)
    html = web(who).get(reverse("document-detail", kwargs={"project_id": project.pk,
                                                            "document_id": data["document"].pk})).content.decode()
    link = reverse("review-sentence", kwargs={"project_id": project.pk, "sentence_id": data["sentence"].pk})
    assert (f'href="{link}"' in html) is linked


# --- members ------------------------------------------------------------------------------------------------


def test_admin_adds_changes_and_removes_members(web, project, members):
    from annotation.models import Membership

    admin = web("admin")
    html = follow(admin, admin.post(url("members-settings", project),
                                    {"action": "add", "username": "outsider-user", "role": "viewer"}))
    assert "outsider-user is now viewer." in html
    m = Membership.objects.get(project=project, user=members["outsider"])
    html = follow(admin, admin.post(url("members-settings", project), {"action": "role", "id": m.pk,
                                                                         "role": "curator"}))
    assert "outsider-user is now curator." in html and Membership.objects.get(pk=m.pk).role == "curator"
    html = follow(admin, admin.post(url("members-settings", project), {"action": "remove", "id": m.pk}))
    assert "outsider-user is no longer a member" in html
    assert web("outsider").get(url("project-detail", project)).status_code == 404
    html = follow(admin, admin.post(url("members-settings", project),
                                    {"action": "add", "username": "nobody", "role": "viewer"}))
    assert "No user named &#x27;nobody&#x27;." in html
    html = follow(admin, admin.post(url("members-settings", project),
                                    {"action": "add", "username": "viewer-user", "role": "boss"}))
    assert "Unknown role" in html


def test_the_last_admin_stays(web, project, members):
    from annotation.models import Membership

    admin = web("admin")
    me = Membership.objects.get(project=project, user=members["admin"])
    for data in ({"action": "role", "id": me.pk, "role": "viewer"}, {"action": "remove", "id": me.pk},
                 {"action": "add", "username": "admin-user", "role": "viewer"}):
        html = follow(admin, admin.post(url("members-settings", project), data))
        assert "A project keeps at least one admin" in html
    assert Membership.objects.get(pk=me.pk).role == "admin"
    # With a second admin, the first may step down, and lands on the overview.
    curator = Membership.objects.get(project=project, user=members["curator"])
    admin.post(url("members-settings", project), {"action": "role", "id": curator.pk, "role": "admin"})
    r = admin.post(url("members-settings", project), {"action": "role", "id": me.pk, "role": "viewer"})
    assert r["Location"] == url("project-detail", project)
    assert web("admin").get(url("members-settings", project)).status_code == 403


@pytest.mark.parametrize(("who", "status"), [("admin", 302), ("curator", 403), ("annotator", 403), ("viewer", 403),
                                             ("outsider", 404)])
def test_train_now_is_for_admins(web, project, who, status):
    r = web(who).post(url("training-start", project))
    assert r.status_code == status
    assert ModelVersion.objects.filter(project=project).exists() is (status == 302)
    html = web(who).get(url("project-detail", project)).content.decode() if who != "outsider" else ""
    assert ('id="train-now"' in html) is False  # queued now (admin), or never offered (others)


def test_train_now_queues_one_training_and_the_overview_follows_it(web, project):
    admin = web("admin")
    assert 'id="train-now"' in admin.get(url("project-detail", project)).content.decode()
    html = follow(admin, admin.post(url("training-start", project)))
    assert "Training of version 1 queued" in html and "waiting for a worker" in html
    html = follow(admin, admin.post(url("training-start", project)))
    assert "Version 1 is already queued." in html
    assert ModelVersion.objects.filter(project=project).count() == 1
