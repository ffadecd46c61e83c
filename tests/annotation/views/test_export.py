"""The export page: queued exports with a recorded manifest, predictions as a layer, roles, and the same
bytes as the command line."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from annotation.errors import InvalidInput
from annotation.models import CorpusExport, ModelVersion
from annotation.services import export_job_create, export_job_run

from ...monitoring_data import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(project, members):
    return build(project, members)


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _post(client, project, **fields):
    data = {"format": "brat", "split": "", "layers": "gold", "discontinuous": "cover", "nested": "outermost",
            "predictions": "", **fields}
    return client.post(reverse("export", args=[project.pk]), data)


def _zip(client, project, job) -> zipfile.ZipFile:
    r = client.get(reverse("export-download", args=[project.pk, job.pk]))
    assert r.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))


def test_manifest_is_recorded_and_listed(project, members, data):
    c = _client(members["curator"])
    assert _post(c, project, format="jsonl", layers="all", split="dev", predictions="4").status_code == 302
    job = export_job_run(export_id=CorpusExport.objects.get().pk)
    m = job.manifest
    assert job.status == "succeeded" and job.created_by == members["curator"] and job.size > 0
    assert (m["format"], m["split"], m["gold_only"], m["model_version"], m["predictions_version"]) == (
        "jsonl", "dev", False, 4, 4)
    assert m["exported_by"] == "curator-user" and m["guideline_version"] == project.guideline_version
    assert [e["name"] for e in m["schema"]["entity_types"]][:2] == ["Condition", "Measurement"]
    assert m["layers"]["gold"]["mentions"] == 2
    assert m["layers"]["annotator-annotator-user"] == {"documents": 1, "mentions": 3, "relations": 1, "groups": 0}
    assert m["layers"]["predictions-v4"]["mentions"] == 4 and m["layers"]["predictions-v4"]["relations"] == 1
    zf = _zip(c, project, job)
    assert json.loads(zf.read("manifest.json")) == m
    pred = json.loads(zf.read("predictions-v4.jsonl").decode().splitlines()[0])
    # document offsets: sentence 2 ("No diabetes") starts at 16, its Condition at 3..11
    assert [(e["id"], e["label"], e["start_offset"], e["end_offset"]) for e in pred["entities"]] == [
        ("T1", "Measurement", 0, 5), ("T2", "Value", 12, 15), ("T3", "Drug", 6, 11), ("T4", "Condition", 19, 27)]
    assert pred["relations"] == [{"id": "R1", "from_id": "T1", "to_id": "T2", "type": "Has_value"}]
    page = c.get(reverse("export", args=[project.pk])).content.decode()
    assert "predictions v4" in page and "annotator-annotator-user: 1 docs, 3 mentions" in page


def test_spert_and_conll_exports_run(project, members, data):
    c = _client(members["admin"])
    for fmt in ("spert", "conll"):
        _post(c, project, format=fmt)
        job = export_job_run(export_id=CorpusExport.objects.filter(format=fmt).get().pk)
        assert job.status == "succeeded", job.error
        assert f"gold.{'json' if fmt == 'spert' else 'conll'}" in _zip(c, project, job).namelist()


def test_roles(project, members, data):
    job = export_job_create(project=project, user=members["admin"], fmt="brat", options={"gold_only": True})
    export_job_run(export_id=job.pk)
    download = reverse("export-download", args=[project.pk, job.pk])
    for who, status in (("viewer", 200), ("annotator", 403), ("outsider", 404)):
        assert _client(members[who]).get(download).status_code == status
        assert _client(members[who]).get(reverse("export", args=[project.pk])).status_code == status
    assert _post(_client(members["annotator"]), project).status_code == 403
    assert Client().get(download).status_code == 302  # to the login page


def test_bad_requests(project, members, data):
    with pytest.raises(InvalidInput, match="no model version 7"):
        export_job_create(project=project, user=members["admin"], fmt="brat", options={"predictions": 7})
    with pytest.raises(InvalidInput, match="Unknown export format"):
        export_job_create(project=project, user=members["admin"], fmt="pdf", options={})
    # a version deleted between the request and the run: the export fails with the reason
    job = export_job_create(project=project, user=members["admin"], fmt="jsonl", options={"predictions": 2})
    ModelVersion.objects.filter(number=2).delete()
    job = export_job_run(export_id=job.pk)
    assert job.status == "failed" and "no model version 2" in job.error
    assert _client(members["admin"]).get(reverse("export-download", args=[project.pk, job.pk])).status_code == 404
    assert export_job_run(export_id=job.pk).status == "failed"  # not run twice


def test_ui_export_has_the_same_bytes_as_the_command_line(project, members, data, tmp_path):
    job = export_job_create(project=project, user=members["admin"], fmt="brat", options={"gold_only": True})
    job = export_job_run(export_id=job.pk)
    ui = b"".join(_client(members["admin"]).get(reverse("export-download", args=[project.pk, job.pk])).streaming_content)
    cli = tmp_path / "cli.zip"
    call_command("export_corpus", project=project.name, format="brat", out=str(cli), gold_only=True, zip=True,
                 stdout=io.StringIO())
    assert ui == cli.read_bytes()
    with zipfile.ZipFile(cli) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert sorted(zf.namelist()) == ["NCT9_inc.ann", "NCT9_inc.txt"]


def test_api_download_name_is_a_valid_filename(project, members, data, client_for):
    project.name = "Trial criteria / v2: \"final\""
    project.save()
    r = client_for("viewer").get(reverse("api-export", kwargs={"project_id": project.pk}), {"format": "brat"})
    assert r.status_code == 200
    assert 'filename="Trial_criteria__v2_final-brat.zip"' in r["Content-Disposition"]
