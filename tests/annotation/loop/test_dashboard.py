"""The dashboard's figures against the hand-worked data of tests/monitoring_data.py, and who may see it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotation.loop import dashboard
from annotation.models import ModelVersion
from tests.pages import offsite_references

from ...monitoring_data import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(project, members):
    return build(project, members)


def _client(user) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


@pytest.mark.parametrize(("who", "status"), [
    ("admin", 200), ("curator", 200), ("viewer", 200), ("annotator", 403), ("outsider", 404), (None, 302),
])
def test_dashboard_roles(project, members, who, status):
    r = _client(members[who] if who else None).get(reverse("project-dashboard", args=[project.pk]))
    assert r.status_code == status


def test_version_history_and_learning_curve(project, data):
    h = dashboard.version_history(project=project)
    assert [(v["number"], v["status"], v["entity_f1"], v["trained_on"]) for v in h] == [
        (1, "retired", 50.0, 20), (2, "rejected", 33.33, 30), (3, "failed", None, None), (4, "active", 75.0, 40)]
    assert h[1]["entity_p"] == 50.0 and h[1]["entity_r"] == 25.0
    assert h[2]["error"] == "RuntimeError: CUDA out of memory"


def test_per_type_and_calibration(project, data):
    per_type = dashboard.version_per_type(version=data["versions"][4])
    ents = {r["type"]: r for r in per_type["entities"]}
    # v4: 3 of 4 Conditions right, 1 wrong Drug
    assert ents["Condition"] == {"type": "Condition", "precision": 100.0, "recall": 75.0, "f1": 85.71,
                                 "support": 4, "predicted": 3}
    assert ents["Drug"]["precision"] == 0.0 and "Value" not in ents
    cal = dashboard.calibration_of(version=data["versions"][4])
    # four predictions at 0.9, three right: bin 9 has accuracy 0.75 -> ECE |0.75 - 0.9| = 15 %
    assert cal["entity_ece"] == pytest.approx(15.0)
    assert cal["entity_bins"][9]["count"] == 4 and cal["entity_bins"][9]["accuracy"] == 0.75


def test_suggestion_rates_by_hand(project, data):
    rates = {(r["version"], r["type"]): r for r in dashboard.suggestion_rates(project=project)}
    # s1 is seen by ann1, ann2 and gold; s2 by ann1 and ann2; s3 by nobody
    assert (rates[(4, "Measurement")]["accepted"], rates[(4, "Measurement")]["total"]) == (3, 3)
    assert (rates[(4, "Value")]["accepted"], rates[(4, "Value")]["edited"]) == (2, 1)
    assert rates[(4, "Drug")]["rejected"] == 3
    assert rates[(4, "Condition")]["accepted"] == 2
    total = rates[(4, "(all types)")]
    assert (total["accepted"], total["edited"], total["rejected"], total["total"]) == (7, 1, 3, 11)
    assert total["accepted_pct"] == pytest.approx(63.64)


def test_suggestion_older_than_the_human_version_does_not_count(project, data):
    # a prediction made after the people finished is no suggestion they saw
    from django.utils import timezone

    from annotation.models import SentencePrediction

    SentencePrediction.objects.filter(sentence=data["sentences"][1]).update(created_at=timezone.now())
    rates = {(r["version"], r["type"]): r for r in dashboard.suggestion_rates(project=project)}
    assert (4, "Condition") not in rates


def test_progress_and_throughput(project, data):
    p = dashboard.annotator_progress(project=project)
    assert (p["total"], p["gold"], p["submitted"]) == (3, 1, 1)
    rows = {r["annotator"]: r for r in p["annotators"]}
    assert rows["annotator-user"]["submitted"] == 2 and rows["annotator-user"]["per_hour"] == 20.0
    assert rows["second-annotator"]["per_hour"] is None  # the 40-minute gap is a break


def test_agreement_summary_matches_the_hand_computed_case(project, data):
    a = dashboard.agreement_summary(project=project)
    assert a["annotators"] == ["annotator-user", "second-annotator"]
    pair = a["pairs"][0]
    assert pair["mention_f1"] == pytest.approx(66.67) and pair["relation_f1"] == 0.0
    assert pair["kappa"] == pytest.approx(20 / 26, abs=1e-4)
    assert a["alpha"] == pytest.approx(1 - (2 / 12) / (102 / 132), abs=1e-4)
    gold = {p["a"]: p for p in a["vs_gold"]}
    assert gold["annotator-user"]["mention_f1"] == 100.0 and gold["second-annotator"]["mention_f1"] == 50.0
    top = a["most_disputed"][0]
    assert top["sentence"] == data["sentences"][0].pk and top["document_id"] == data["document"].pk


def test_dashboard_page_shows_the_figures(project, members, data):
    r = _client(members["viewer"]).get(reverse("project-dashboard", args=[project.pk]))
    html = r.content.decode()
    assert "Active model: <strong>v4</strong>" in html
    assert 'id="dashboard-data"' in html and "vendor/chartjs/chart.umd.js" in html
    assert not offsite_references(html)
    assert reverse("document-detail", args=[project.pk, data["document"].pk]) + f"#s{data['sentences'][0].pk}" in html
    assert "CUDA out of memory" in html
    # each version is labelled with its architecture
    rows = {v["number"]: v for v in r.context["history"]}
    assert rows[2]["architecture"] == "tagger.v1" and rows[4]["architecture"] == "span.v1"
    assert "<code title=\"encoder: default (MiniLM-L6)\">tagger.v1</code>" in html
    # the version picker shows another version's per-type figures
    r = _client(members["viewer"]).get(reverse("project-dashboard", args=[project.pk]), {"version": 2})
    assert r.context["per_type"]["number"] == 2
    # viewers do not get the webhook form
    assert "dashboard/webhook/" not in html


def test_dashboard_without_any_data(project, members):
    r = _client(members["admin"]).get(reverse("project-dashboard", args=[project.pk]))
    assert r.status_code == 200 and "No model trained yet." in r.content.decode()


def test_webhook_setting(project, members):
    url = reverse("dashboard-webhook", args=[project.pk])
    assert _client(members["curator"]).post(url, {"alert_webhook_url": "http://x.test/"}).status_code == 403
    r = _client(members["admin"]).post(url, {"alert_webhook_url": "ftp://example.org/hook"}, follow=True)
    project.refresh_from_db()
    assert project.alert_webhook_url == "" and "valid URL" in r.content.decode()
    _client(members["admin"]).post(url, {"alert_webhook_url": "https://hooks.example.org/trialmark"})
    project.refresh_from_db()
    assert project.alert_webhook_url == "https://hooks.example.org/trialmark"
    _client(members["admin"]).post(url, {"alert_webhook_url": ""})
    project.refresh_from_db()
    assert project.alert_webhook_url == ""


def test_versions_without_a_project_member_view_404(project, members, data):
    other = ModelVersion.objects.create(project=project, number=9, architecture="span.v1")
    r = _client(members["outsider"]).get(reverse("project-dashboard", args=[project.pk]), {"version": other.number})
    assert r.status_code == 404
