"""Server-rendered pages: every page for anonymous users, outsiders and each role; the inline
rendering of nested, overlapping and discontinuous mentions; upload and export round trips."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import (
    Annotation,
    Document,
    EntityType,
    ImportJob,
    Mention,
    MentionGroup,
    Relation,
    RelationType,
    Role,
    Sentence,
)
from annotation.rendering import Span, assign_lanes, render_text, segment, text_colour_for
from annotation.services import annotation_save, membership_set, project_create

from ...factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["admin", "curator", "annotator", "viewer", "outsider", None]
EVERYONE = {"admin", "curator", "annotator", "viewer"}
EXPORTERS = {"admin", "curator", "viewer"}

TEXT = "Type 2 diabetes and breast or ovarian cancer <b>"


@pytest.fixture
def document(project):
    doc = Document.objects.create(project=project, external_id="NCT1_inc", group_key="NCT1", section="inclusion",
                                  text=TEXT + "\nAdults")
    Sentence.objects.create(project=project, document=doc, position=0, start=0, end=len(TEXT), text=TEXT)
    Sentence.objects.create(project=project, document=doc, position=1, start=len(TEXT) + 1, end=len(TEXT) + 7,
                            text="Adults")
    return doc


def _gold_with_hard_mentions(document) -> dict[str, Mention]:
    """Gold for sentence 0: nested (diabetes in Type 2 diabetes), overlapping (two conditions sharing
    "cancer"), discontinuous ("breast … cancer"), a relation and an OR group."""
    sentence = document.sentences.get(position=0)
    project = document.project
    cond = EntityType.objects.get(project=project, name="Condition")
    value = EntityType.objects.get(project=project, name="Value")
    gold = Annotation.objects.create(sentence=sentence, annotator=None, status="gold")

    def mention(et, *frags):
        return Mention.objects.create(annotation=gold, entity_type=et, fragments=[list(f) for f in frags],
                                      start=frags[0][0], end=frags[-1][1])

    m = {
        "outer": mention(cond, (0, 15)),           # Type 2 diabetes
        "inner": mention(value, (5, 6)),           # 2
        "nested": mention(cond, (7, 15)),          # diabetes
        "breast": mention(cond, (20, 26), (38, 44)),  # breast … cancer
        "ovarian": mention(cond, (30, 44)),        # ovarian cancer
    }
    rt = RelationType.objects.get(project=project, name="Has_value")
    Relation.objects.create(annotation=gold, relation_type=rt, head=m["outer"], tail=m["inner"])
    group = MentionGroup.objects.create(annotation=gold, group_type="OR")
    group.members.set([m["breast"], m["ovarian"]])
    return m


def _url(name: str, project, document=None, job=None) -> str:
    kwargs = {"project_id": project.pk}
    if document is not None:
        kwargs["document_id"] = document.pk
    if job is not None:
        kwargs["job_id"] = job.pk
    return reverse(name, kwargs=kwargs)


def expect(who, allowed, response):
    if who is None:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), response
    elif who == "outsider":
        assert response.status_code == 404, response
    elif who in allowed:
        assert response.status_code == 200, response
    else:
        assert response.status_code == 403, response


# --- rendering (pure) ---------------------------------------------------------------------------------------


def test_lanes_nested_overlapping_and_discontinuous():
    spans = [
        Span("outer", "Condition", "#ff0000", ((0, 15),)),
        Span("inner", "Value", "#00ff00", ((5, 6),)),
        Span("nested", "Condition", "#ff0000", ((7, 15),)),
        Span("breast", "Condition", "#ff0000", ((20, 26), (38, 44))),
        Span("ovarian", "Condition", "#ff0000", ((30, 44),)),
        Span("alone", "Value", "#00ff00", ((45, 48),)),
    ]
    lanes = assign_lanes(spans)
    # Inner mentions sit closest to the text; the outer one below them.
    assert lanes["inner"] == 0 and lanes["nested"] == 0 and lanes["outer"] == 1
    # Two mentions sharing "cancer" never share a lane; the gap of "breast … cancer" is free.
    assert lanes["breast"] != lanes["ovarian"]
    assert lanes["alone"] == 0


def test_segments_cut_at_every_boundary_and_label_the_first_fragment():
    text = "breast or ovarian cancer"
    spans = [Span("b", "Condition", "#ff0000", ((0, 6), (18, 24))), Span("o", "Condition", "#0000ff", ((10, 24),))]
    segments, n_lanes = segment(text, spans)
    assert [s.text for s in segments] == ["breast", " or ", "ovarian ", "cancer"]
    assert n_lanes == 2
    by_text = {s.text: s for s in segments}
    assert [m.span.key for m in by_text[" or "].marks] == []
    assert {m.span.key for m in by_text["cancer"].marks} == {"b", "o"}
    # The discontinuous mention keeps one lane over its fragments and is labelled once.
    b_marks = [m for s in segments for m in s.marks if m.span.key == "b"]
    assert len({m.lane for m in b_marks}) == 1
    assert [m.first for m in b_marks] == [True, False]


def test_render_text_escapes_and_ignores_bad_input():
    html = render_text('<i>x</i> & "y"', [
        Span("a", '<script>', '#123456', ((0, 3),), text="<i>"),
        Span("b", "T", 'red;background:url(x)', ((4, 5),)),
        Span("c", "T", "#123456", ((90, 99),)),  # outside the text: dropped
    ])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;i&gt;" in html and "<i>" not in html
    assert "url(x)" not in html  # a colour that is not #rrggbb never reaches the style attribute
    assert 'data-m="c"' not in html
    assert html.count('class="m"') == 2


def test_text_colour_for():
    assert text_colour_for("#ffffff") == "#111"
    assert text_colour_for("#1f1f7f") == "#fff"


# --- access -------------------------------------------------------------------------------------------------


@pytest.fixture
def job(project, members):
    return ImportJob.objects.create(project=project, created_by=members["admin"], format="brat",
                                    upload="imports/x.zip", status="failed", problems=["x.ann:3: bad line"])


PAGES = [
    ("project-detail", EVERYONE),
    ("document-detail", EVERYONE),
    ("import-create", {"admin"}),
    ("import-detail", {"admin"}),
    ("export", EXPORTERS),
]


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize(("name", "allowed"), PAGES)
def test_page_access(web, project, document, job, who, name, allowed):
    url = _url(name, project, document=document if name == "document-detail" else None,
               job=job if name == "import-detail" else None)
    expect(who, allowed, web(who).get(url))


@pytest.mark.parametrize("name", ["document-detail", "import-detail"])
def test_objects_of_another_project_are_404(web, project, document, job, members, name):
    other = project_create(name="Other", created_by=members["admin"])
    url = _url(name, other, document=document if name == "document-detail" else None,
               job=job if name == "import-detail" else None)
    assert web("admin").get(url).status_code == 404


def test_missing_project_is_404_like_a_foreign_one(web, members):
    assert web("admin").get(reverse("project-detail", kwargs={"project_id": 999999})).status_code == 404


def test_anonymous_project_list_redirects_to_login(web):
    r = web(None).get(reverse("project-list"))
    assert r.status_code == 302 and r["Location"].startswith(reverse("login"))


def test_login_page_and_logout(web, members):
    assert web(None).get(reverse("login")).status_code == 200
    c = Client()
    r = c.post(reverse("login"), {"username": "viewer-user", "password": "pw-for-tests"})
    assert r.status_code == 302 and r["Location"] == reverse("project-list")
    assert c.get(reverse("project-list")).status_code == 200
    assert c.get(reverse("logout")).status_code == 405  # logging out is a POST
    assert c.post(reverse("logout")).status_code == 302
    assert c.get(reverse("project-list")).status_code == 302


# --- project list and overview ------------------------------------------------------------------------------


def test_project_list_shows_member_projects_with_role_and_counts(web, project, document):
    _gold_with_hard_mentions(document)
    r = web("curator").get(reverse("project-list"))
    assert r.status_code == 200
    row = r.context["rows"][0]
    assert row["project"] == project and row["role"] == Role.CURATOR
    assert (row["project"].n_documents, row["project"].n_sentences, row["project"].n_gold) == (1, 2, 1)
    assert "Trial criteria" in r.content.decode()
    assert web("outsider").get(reverse("project-list")).context["rows"] == []


def test_project_create_from_the_list(web, members, project):
    c = web("outsider")
    r = c.post(reverse("project-list"), {"name": "Oncology", "description": "Phase III"})
    assert r.status_code == 302
    created = project.__class__.objects.get(name="Oncology")
    assert r["Location"] == _url("project-detail", created)
    assert created.memberships.get().user == members["outsider"]
    assert created.memberships.get().role == Role.ADMIN
    # A duplicate name comes back as a form error, nothing created.
    r = c.post(reverse("project-list"), {"name": "Oncology"})
    assert r.status_code == 200 and r.context["form"].errors["name"]
    assert project.__class__.objects.filter(name="Oncology").count() == 1


def test_project_overview_counts_schema_and_states(web, project, document, members):
    _gold_with_hard_mentions(document)
    adults = document.sentences.get(position=1)
    annotation_save(sentence=adults, actor=members["annotator"], version=0, mentions=[], status="draft")
    r = web("viewer").get(_url("project-detail", project))
    assert r.status_code == 200
    states = {s["key"]: s["count"] for s in r.context["states"]}
    assert states == {"new": 0, "draft": 1, "submitted": 0, "gold": 1}
    html = r.content.decode()
    assert "Has_value" in html and "Condition | Measurement" in html  # allowed heads shown
    assert "<kbd>c</kbd>" in html
    # Viewers export but do not upload.
    assert _url("export", project) in html and _url("import-create", project) not in html


def test_project_overview_filters_and_paginates(web, project):
    Document.objects.bulk_create(
        [Document(project=project, external_id=f"NCT{i:03d}_inc", split="train" if i % 2 else "test")
         for i in range(120)]
    )
    c = web("annotator")
    page1 = c.get(_url("project-detail", project))
    assert len(page1.context["page"].object_list) == 50 and page1.context["page"].paginator.num_pages == 3
    test_only = c.get(_url("project-detail", project), {"split": "test", "page": 2})
    assert {d.split for d in test_only.context["page"].object_list} == {"test"}
    assert test_only.context["page"].number == 2 and "split=test&amp;page=1" in test_only.content.decode()
    found = c.get(_url("project-detail", project), {"q": "nct007"})
    assert [d.external_id for d in found.context["page"].object_list] == ["NCT007_inc"]


# --- document page ------------------------------------------------------------------------------------------


def test_document_renders_nested_overlapping_and_discontinuous_mentions(web, project, document):
    m = _gold_with_hard_mentions(document)
    r = web("annotator").get(_url("document-detail", project, document=document))
    assert r.status_code == 200
    html = r.content.decode()
    gold = m["outer"].annotation_id
    key = {name: f"a{gold}-{mention.pk}" for name, mention in m.items()}
    lanes = {name: int(re.search(rf'data-m="{k}" style="--c:#[0-9a-f]{{6}};--lane:(\d+)"', html).group(1))
             for name, k in key.items()}
    assert lanes["inner"] < lanes["outer"] and lanes["nested"] < lanes["outer"]
    assert lanes["breast"] != lanes["ovarian"]
    # The discontinuous mention: two fragments, one label.
    assert html.count(f'class="m" data-m="{key["breast"]}"') == 2
    assert html.count('class="tag"') == 5
    # The tooltip names every mention covering "cancer", innermost lane first.
    assert 'title="Condition: breast … cancer\nCondition: ovarian cancer"' in html
    # Relations and OR groups listed under the sentence.
    assert re.search(r"Type 2 diabetes</span>\s*<span class=\"rel\">—Has_value→</span>\s*<span[^>]*>2</span>", html)
    assert re.search(r'class="rel">OR</span>.*breast … cancer.*ovarian cancer', html, re.S)
    # The text is escaped.
    assert "&lt;b&gt;" in html and "<b>" not in html


@pytest.fixture
def two_annotators(project, document, members):
    second = UserFactory(username="second-annotator")
    membership_set(project=project, user=second, role=Role.ANNOTATOR)
    sentence = document.sentences.get(position=0)
    annotation_save(sentence=sentence, actor=members["annotator"], version=0, status="submitted",
                    mentions=[{"id": "m1", "type": "Condition", "fragments": [[7, 15]]}])
    annotation_save(sentence=sentence, actor=second, version=0,
                    mentions=[{"id": "m1", "type": "Drug", "fragments": [[0, 4]]}])
    return second


def _shown(response) -> list[str | None]:
    return [a["state"]["annotator"] for row in response.context["rows"] for a in row["annotations"]]


def test_document_layers_follow_visibility(web, project, document, members, two_annotators):
    url = _url("document-detail", project, document=document)
    # Without gold: every version the user may see. Annotators see only their own ...
    assert _shown(web("annotator").get(url)) == ["annotator-user"]
    assert web("annotator").get(url, {"layer": "second-annotator"}).context["rows"][0]["annotations"] == []
    # ... curators see everyone's, and may pick one layer.
    assert sorted(_shown(web("curator").get(url))) == ["annotator-user", "second-annotator"]
    r = web("curator").get(url, {"layer": "second-annotator"})
    assert _shown(r) == ["second-annotator"] and r.context["annotators"] == ["annotator-user", "second-annotator"]
    # ... and annotators too when the project allows it.
    project.annotators_see_others = True
    project.save()
    assert sorted(_shown(web("annotator").get(url))) == ["annotator-user", "second-annotator"]


def test_document_shows_gold_by_default(web, project, document, two_annotators):
    _gold_with_hard_mentions(document)
    url = _url("document-detail", project, document=document)
    assert _shown(web("curator").get(url)) == [None]
    assert _shown(web("curator").get(url, {"layer": "annotator-user"})) == ["annotator-user"]
    assert _shown(web("curator").get(url, {"layer": "gold"})) == [None]


# --- import -------------------------------------------------------------------------------------------------


def _brat_zip(ann: str) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("NCT7_inc.txt", "Adults with asthma\n")
        zf.writestr("NCT7_inc.ann", ann)
    buf.seek(0)
    buf.name = "upload.zip"
    return buf


@pytest.fixture
def eager(settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.MEDIA_ROOT = tmp_path


def _upload(client, project, ann, capture, **extra):
    data = {"file": _brat_zip(ann), "format": "brat", "as_gold": "on", "split": "", "text_mode": "lines", **extra}
    with capture(execute=True):
        return client.post(_url("import-create", project), data)


def test_import_form_defaults_to_gold(web, project):
    form = web("admin").get(_url("import-create", project)).context["form"]
    assert form["as_gold"].value() is True and form["format"].value() == "brat"


def test_import_brat_zip_succeeds(web, project, eager, django_capture_on_commit_callbacks):
    c = web("admin")
    r = _upload(c, project, "T1\tCondition 12 18\tasthma\n", django_capture_on_commit_callbacks, split="dev")
    job = ImportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == _url("import-detail", project, job=job)
    page = c.get(r["Location"])
    assert page.context["job"].status == "succeeded"
    html = page.content.decode()
    assert 'http-equiv="refresh"' not in html and "Mentions" in html
    doc = Document.objects.get(project=project, external_id="NCT7_inc")
    assert doc.split == "dev"
    view = c.get(_url("document-detail", project, document=doc)).content.decode()
    assert 'class="tag"' in view and "asthma" in view


def test_import_malformed_fails_with_file_and_line(web, project, eager, django_capture_on_commit_callbacks):
    c = web("admin")
    r = _upload(c, project, "T1\tCondition 12 18\tasthma\nR1\tHas_value Arg1:T1 Arg2:T5\t\n",
                django_capture_on_commit_callbacks)
    page = c.get(r["Location"])
    assert page.context["job"].status == "failed"
    problems = page.context["job"].problems
    assert any(p.startswith("NCT7_inc.ann:2:") for p in problems), problems
    assert "NCT7_inc.ann:2:" in page.content.decode()
    assert not Document.objects.exists()


def test_import_pending_page_refreshes_itself(web, project, job):
    job.status = "pending"
    job.save()
    html = web("admin").get(_url("import-detail", project, job=job)).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html


def test_import_refused_by_service_is_a_message(web, project, eager, settings):
    settings.TRIALMARK_MAX_UPLOAD_MB = 0
    r = web("admin").post(_url("import-create", project), {"file": _brat_zip("T1\tCondition 12 18\tasthma\n"),
                                                          "format": "brat", "text_mode": "lines"})
    assert r.status_code == 200 and "over the upload limit" in r.content.decode()
    assert not ImportJob.objects.exists()


def test_import_by_curator_is_refused(web, project, eager):
    r = web("curator").post(_url("import-create", project), {"file": _brat_zip("T1\tCondition 12 18\tasthma\n"),
                                                            "format": "brat", "text_mode": "lines"})
    assert r.status_code == 403 and not ImportJob.objects.exists()


# --- export -------------------------------------------------------------------------------------------------


def _export(client, project, **fields):
    """Submit the export form, run the queued export as the worker would, and download it."""
    from annotation.models import CorpusExport
    from annotation.services import export_job_run

    data = {"format": "brat", "split": "", "layers": "gold", "discontinuous": "cover", "nested": "outermost",
            "predictions": "", **fields}
    r = client.post(_url("export", project), data)
    assert r.status_code == 302, r.content.decode()[:2000]
    job = CorpusExport.objects.filter(project=project).first()
    assert job.status == "pending"
    job = export_job_run(export_id=job.pk)
    assert job.status == "succeeded", job.error
    return job, client.get(reverse("export-download", kwargs={"project_id": project.pk, "export_id": job.pk}))


def test_export_form_then_zip(web, project, document):
    _gold_with_hard_mentions(document)
    c = web("viewer")
    form_page = c.get(_url("export", project))
    assert form_page.status_code == 200 and "format" in form_page.context["form"].fields
    job, r = _export(c, project)
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    assert 'filename="Trial_criteria-brat.zip"' in r["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content))) as zf:
        ann = zf.read("NCT1_inc.ann").decode()
    assert "Condition 20 26;38 44\tbreast cancer" in ann
    assert "Has_value Arg1:" in ann
    listing = c.get(_url("export", project)).content.decode()
    assert reverse("export-download", kwargs={"project_id": project.pk, "export_id": job.pk}) in listing


def test_export_every_annotator_in_jsonl(web, project, document, two_annotators):
    _, r = _export(web("curator"), project, format="jsonl", layers="all")
    with zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content))) as zf:
        names = set(zf.namelist())
    assert {"gold.jsonl", "annotator-annotator-user.jsonl", "annotator-second-annotator.jsonl"} <= names


def test_export_invalid_choice_shows_the_form(web, project):
    r = web("admin").post(_url("export", project), {"format": "pdf"})
    assert r.status_code == 200 and r.context["form"].errors["format"]
    from annotation.models import CorpusExport

    assert not CorpusExport.objects.exists()
