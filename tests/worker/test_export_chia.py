"""All 811 Chia trials exported from the UI by a real worker: the download equals the command-line export
byte for byte (and the page's request returns at once)."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from annotation.models import CorpusExport, Role
from annotation.services import corpus_import_path, membership_set, project_create

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

FORM = {"split": "", "discontinuous": "cover", "nested": "outermost", "predictions": ""}


def _ui_export(client, project, fmt: str, layers: str, timeout: float = 600.0) -> tuple[CorpusExport, bytes, float]:
    t = time.perf_counter()
    r = client.post(reverse("export", args=[project.pk]), {**FORM, "format": fmt, "layers": layers})
    request_s = time.perf_counter() - t
    assert r.status_code == 302
    job = CorpusExport.objects.filter(project=project, format=fmt).order_by("-pk").first()
    deadline = time.monotonic() + timeout
    while job.status in ("pending", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job.refresh_from_db()
    assert job.status == "succeeded", job.error
    body = b"".join(client.get(reverse("export-download", args=[project.pk, job.pk])).streaming_content)
    return job, body, request_s


def test_chia_export_from_the_ui_matches_the_command_line(celery_worker, corpora, members, tmp_path):
    project = project_create(name="Chia", created_by=members["admin"])
    membership_set(project=project, user=members["curator"], role=Role.CURATOR)
    t = time.perf_counter()
    summary = corpus_import_path(project=project, path=corpora / "chia", fmt="brat")
    import_s = time.perf_counter() - t
    assert summary["documents"] == 1622
    client = Client()
    client.force_login(members["curator"])

    job, ui_zip, request_s = _ui_export(client, project, "brat", "gold")
    t = time.perf_counter()
    call_command("export_corpus", project=project.name, format="brat", out=str(tmp_path / "cli.zip"),
                 gold_only=True, zip=True, stdout=io.StringIO())
    cli_s = time.perf_counter() - t
    assert ui_zip == (tmp_path / "cli.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(ui_zip)) as zf:
        names = zf.namelist()
        assert len(names) == 2 * 1622 and "NCT00050349_exc.ann" in names
        assert zf.read("NCT00050349_exc.txt") == (corpora / "chia" / "NCT00050349_exc.txt").read_bytes()
    assert job.manifest["layers"]["gold"]["documents"] == 1622

    # JSONL carries a manifest (when, by whom), so compare every other file byte for byte
    jjob, jsonl_zip, _ = _ui_export(client, project, "jsonl", "gold")
    call_command("export_corpus", project=project.name, format="jsonl", out=str(tmp_path / "cli-jsonl.zip"),
                 gold_only=True, zip=True, stdout=io.StringIO())
    with zipfile.ZipFile(io.BytesIO(jsonl_zip)) as ui, zipfile.ZipFile(tmp_path / "cli-jsonl.zip") as cli:
        assert ui.namelist() == cli.namelist() == ["gold.jsonl", "manifest.json"]
        assert ui.read("gold.jsonl") == cli.read("gold.jsonl")
    print(f"\nChia: import {import_s:.1f} s; UI request {request_s * 1000:.0f} ms; "
          f"worker BRAT export {job.duration_s:.1f} s ({len(ui_zip) / 1e6:.1f} MB); CLI BRAT zip {cli_s:.1f} s; "
          f"worker JSONL export {jjob.duration_s:.1f} s")
