"""Alerts: a rejected candidate and a drop of the active model's figures reach a real HTTP endpoint
through a real Celery worker; failures of the endpoint are recorded."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from annotation.models import AlertKind, ModelStatus, ModelVersion, MonitoringAlert, WebhookStatus
from annotation.services import (
    alert_record_decision,
    alert_webhook_send,
    project_webhook_set,
    version_promote,
)
from annotation.services.alerts import WebhookTransientError
from annotation.services.model_versions import _decide

from ..monitoring_data import report


@pytest.fixture(autouse=True)
def _local_webhooks_allowed(settings):
    """These tests POST to a server on 127.0.0.1, which production refuses by default."""
    settings.TRIALMARK_WEBHOOK_ALLOW_PRIVATE = True


class Hook:
    """A local HTTP server that records POSTed JSON and answers with ``status``."""

    def __init__(self, status: int = 204):
        self.status = status
        self.received: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append({"path": self.path, "type": self.headers["Content-Type"],
                                      "json": json.loads(body)})
                self.send_response(hook.status)
                if 300 <= hook.status < 400:
                    self.send_header("Location", "/somewhere-else")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/trialmark"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def _versions(project):
    v1 = ModelVersion.objects.create(project=project, number=1, architecture="span.v1", status=ModelStatus.ACTIVE,
                                     metrics=report(3, 1), artifact_path="/nonexistent/v1")
    v2 = ModelVersion.objects.create(project=project, number=2, architecture="span.v1",
                                     status=ModelStatus.EVALUATING, metrics=report(2, 2),
                                     artifact_path="/nonexistent/v2")
    return v1, v2


def _wait_status(alert_id: int, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = MonitoringAlert.objects.get(pk=alert_id).webhook_status
        if status != WebhookStatus.PENDING:
            return status
        time.sleep(0.1)
    return WebhookStatus.PENDING


def test_rejection_and_drop_are_posted_by_the_worker(celery_worker, project, hook):
    project_webhook_set(project=project, url=hook.url)
    v1, v2 = _versions(project)
    _decide(version_id=v2.pk)  # F1 75 -> 50: worse than the tolerance, rejected
    v2.refresh_from_db()
    assert v2.status == ModelStatus.REJECTED
    alert = MonitoringAlert.objects.get(kind=AlertKind.REJECTED)
    assert alert.model_version == v2 and "v2 was rejected" in alert.message
    got = hook.wait(1)
    assert len(got) == 1 and got[0]["path"] == "/hooks/trialmark" and got[0]["type"] == "application/json"
    assert got[0]["json"]["kind"] == "rejected_candidate" and got[0]["json"]["model_version"] == 2
    assert got[0]["json"]["project"] == project.name
    assert _wait_status(alert.pk) == WebhookStatus.SENT

    # promoting the rejected candidate by hand makes the active model's figures drop
    version_promote(version=v2, user=None)
    drop = MonitoringAlert.objects.get(kind=AlertKind.DROP)
    assert drop.details["drops"]["entity_f1"] == {"before": 75.0, "after": 50.0, "delta": -25.0}
    assert "v2 is below v1" in drop.message
    got = hook.wait(2)
    assert [g["json"]["kind"] for g in got] == ["rejected_candidate", "active_drop"]
    assert _wait_status(drop.pk) == WebhookStatus.SENT


@pytest.mark.django_db
def test_no_webhook_no_post_and_one_alert_per_decision(project, django_capture_on_commit_callbacks):
    v1, v2 = _versions(project)
    with django_capture_on_commit_callbacks() as callbacks:
        _decide(version_id=v2.pk)
    v2.refresh_from_db()
    alert = MonitoringAlert.objects.get()
    assert alert.webhook_status == "" and alert_webhook_send(alert_id=alert.pk) == ""
    assert callbacks == []  # nothing queued: no webhook to call
    assert alert_record_decision(version=v2, previous=v1) is None  # a re-run does not alert twice
    assert MonitoringAlert.objects.count() == 1


@pytest.mark.django_db
def test_promotion_without_a_drop_raises_no_alert(project):
    v1, v2 = _versions(project)
    v2.metrics = report(4, 0)
    v2.status = ModelStatus.ACTIVE
    v1.status = ModelStatus.RETIRED
    assert alert_record_decision(version=v2, previous=v1) is None
    assert not MonitoringAlert.objects.exists()


@pytest.mark.django_db
def test_webhook_failures_are_recorded(project):
    bad = Hook(status=404)
    try:
        project_webhook_set(project=project, url=bad.url)
        v1, v2 = _versions(project)
        _decide(version_id=v2.pk)
        alert = MonitoringAlert.objects.get()
        assert alert_webhook_send(alert_id=alert.pk) == WebhookStatus.FAILED
        alert.refresh_from_db()
        assert alert.webhook_response == "HTTP 404" and len(bad.received) == 1
        bad.status = 503  # a server error is worth a retry
        with pytest.raises(WebhookTransientError):
            alert_webhook_send(alert_id=alert.pk)
    finally:
        bad.close()
    # nobody listens any more: a transient error, recorded, for the task to retry
    with pytest.raises(WebhookTransientError):
        alert_webhook_send(alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.webhook_status == WebhookStatus.FAILED and "refused" in alert.webhook_response.lower()


@pytest.mark.django_db
def test_only_http_webhooks(project):
    from annotation.errors import InvalidInput

    with pytest.raises(InvalidInput):
        project_webhook_set(project=project, url="file:///etc/passwd")


@pytest.mark.django_db
def test_internal_addresses_are_refused_unless_allowed(project, settings):
    from annotation.errors import InvalidInput

    settings.TRIALMARK_WEBHOOK_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/x",
                "http://[::1]/hook", "http://localhost/hook"):
        with pytest.raises(InvalidInput, match="non-public address"):
            project_webhook_set(project=project, url=url)
    project.refresh_from_db()
    assert project.alert_webhook_url == ""
    # Set while allowed, then the setting is turned off: the worker refuses to send, for good.
    hook = Hook()
    try:
        settings.TRIALMARK_WEBHOOK_ALLOW_PRIVATE = True
        project_webhook_set(project=project, url=hook.url)
        settings.TRIALMARK_WEBHOOK_ALLOW_PRIVATE = False
        alert = MonitoringAlert.objects.create(project=project, kind=AlertKind.REJECTED, message="m")
        assert alert_webhook_send(alert_id=alert.pk) == WebhookStatus.FAILED
        alert.refresh_from_db()
        assert "non-public address 127.0.0.1" in alert.webhook_response and hook.received == []
    finally:
        hook.close()


@pytest.mark.django_db
def test_redirects_are_not_followed(project):
    hook = Hook(status=302)
    try:
        project_webhook_set(project=project, url=hook.url)
        alert = MonitoringAlert.objects.create(project=project, kind=AlertKind.REJECTED, message="m")
        assert alert_webhook_send(alert_id=alert.pk) == WebhookStatus.FAILED
        alert.refresh_from_db()
        assert alert.webhook_response == "HTTP 302" and len(hook.received) == 1
    finally:
        hook.close()
