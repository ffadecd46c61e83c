"""Monitoring alerts: a rejected candidate, or an active model whose figures are below its predecessor's.

Alerts are rows the dashboard lists; when the project has a webhook URL, each alert is also POSTed to it as
JSON by a worker (``worker.tasks.alert_webhook_task``), never inside a web request or the training
transaction (the task is queued on commit).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.errors import InvalidInput
from annotation.models import AlertKind, ModelStatus, ModelVersion, MonitoringAlert, Project, WebhookStatus

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10.0
FIGURES = (("entity_f1", "entities"), ("relation_f1", "relations"))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is answered as failed: a redirect could lead past the address check."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


_OPENER = urllib.request.build_opener(_NoRedirects)


def webhook_url_problem(url: str, *, unresolvable_ok: bool = False) -> str | None:
    """Why ``url`` may not be used as a webhook, or None. Only http(s); and unless
    ``TRIALMARK_WEBHOOK_ALLOW_PRIVATE`` is on, the host must resolve to public addresses only, so a
    project admin cannot make the worker POST to the server's own network (loopback, private ranges,
    link-local cloud metadata)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "only http(s) webhook URLs with a host name are allowed"
    if settings.TRIALMARK_WEBHOOK_ALLOW_PRIVATE:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return None if unresolvable_ok else f"the host {parts.hostname!r} cannot be resolved ({exc})"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            return (f"the host {parts.hostname!r} resolves to the non-public address {address}; "
                    "set TRIALMARK_WEBHOOK_ALLOW_PRIVATE=true to allow internal hosts")
    return None


class WebhookTransientError(Exception):
    """The webhook could not be reached (connection refused, timeout, 5xx): worth retrying."""


def _f1(metrics: dict[str, Any] | None, part: str) -> float | None:
    value = ((metrics or {}).get(part) or {}).get("micro", {}).get("f1")
    return None if value is None else float(value)


def _queue_webhook(alert_id: int) -> None:
    from worker.tasks import alert_webhook_task

    transaction.on_commit(lambda: alert_webhook_task.delay(alert_id))


def _record(*, version: ModelVersion, kind: str, message: str, details: dict[str, Any]) -> MonitoringAlert | None:
    hook = version.project.alert_webhook_url
    try:
        with transaction.atomic():
            alert = MonitoringAlert(project=version.project, kind=kind, model_version=version, message=message[:500],
                                    details=details, webhook_status=WebhookStatus.PENDING if hook else "")
            alert.full_clean(validate_unique=False, validate_constraints=False)
            alert.save()
    except IntegrityError:
        return None  # this version already raised this alert (a re-run of the decision)
    if hook:
        _queue_webhook(alert.pk)
    return alert


def alert_record_decision(*, version: ModelVersion, previous: ModelVersion | None) -> MonitoringAlert | None:
    """Record the alert a promotion decision calls for, if any: the candidate was rejected, or it became
    the active version with an entity or relation F1 below the version it replaced (the tolerance may
    allow a small drop; the team still sees it). Returns the alert, or None."""
    if version.status == ModelStatus.REJECTED:
        comparison = version.comparison or {}
        return _record(
            version=version, kind=AlertKind.REJECTED,
            message=f"Candidate v{version.number} was rejected: {comparison.get('reason', 'worse than the active')}",
            details={"comparison": comparison},
        )
    if version.status != ModelStatus.ACTIVE or previous is None or previous.pk == version.pk:
        return None
    drops = {}
    for key, part in FIGURES:
        new, old = _f1(version.metrics, part), _f1(previous.metrics, part)
        if new is not None and old is not None and new < old - 1e-9:
            drops[key] = {"before": round(old, 2), "after": round(new, 2), "delta": round(new - old, 2)}
    if not drops:
        return None
    text = ", ".join(f"{k.replace('_', ' ')} {d['before']:.2f} → {d['after']:.2f}" for k, d in drops.items())
    return _record(
        version=version, kind=AlertKind.DROP,
        message=f"Active model v{version.number} is below v{previous.number}: {text}",
        details={"previous_version": previous.number, "drops": drops},
    )


def alert_payload(*, alert: MonitoringAlert) -> dict[str, Any]:
    return {
        "project": alert.project.name,
        "project_id": alert.project_id,
        "kind": alert.kind,
        "message": alert.message,
        "model_version": alert.model_version.number if alert.model_version_id else None,
        "details": alert.details,
        "created_at": alert.created_at.isoformat(),
    }


def alert_webhook_send(*, alert_id: int) -> str:
    """POST one alert to its project's webhook; records and returns the webhook status. A 2xx answer is
    ``sent``; a 4xx is ``failed`` for good; no answer or a 5xx raises :class:`WebhookTransientError`
    (after recording ``failed``) so the task retries. An alert already sent is not sent again."""
    alert = MonitoringAlert.objects.select_related("project", "model_version").get(pk=alert_id)
    url = alert.project.alert_webhook_url
    if alert.webhook_status == WebhookStatus.SENT or not url:
        return alert.webhook_status
    problem = webhook_url_problem(url)  # checked again: DNS may have changed since the URL was set
    if problem:
        MonitoringAlert.objects.filter(pk=alert.pk).update(
            webhook_status=WebhookStatus.FAILED, webhook_response=f"refused: {problem}"[:500])
        return WebhookStatus.FAILED
    body = json.dumps(alert_payload(alert=alert)).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "TrialMark"})
    status, note, transient = WebhookStatus.FAILED, "", False
    try:
        with _OPENER.open(request, timeout=WEBHOOK_TIMEOUT_S) as response:  # http(s) only, checked above
            status, note = WebhookStatus.SENT, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        note, transient = f"HTTP {exc.code}", exc.code >= 500
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        note, transient = f"{type(exc).__name__}: {exc}", True
    MonitoringAlert.objects.filter(pk=alert.pk).update(
        webhook_status=status, webhook_response=note[:500], webhook_sent_at=timezone.now())
    if transient:
        raise WebhookTransientError(note)
    return status


@transaction.atomic
def project_webhook_set(*, project: Project, url: str) -> Project:
    """Set (or clear, with ``""``) the URL that monitoring alerts are POSTed to; only http(s)."""
    project.alert_webhook_url = url.strip()
    try:
        project.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput("; ".join(exc.message_dict.get("alert_webhook_url", exc.messages))) from exc
    # A host that does not resolve yet is accepted here (DNS may come later); sending checks again.
    problem = webhook_url_problem(project.alert_webhook_url, unresolvable_ok=True) if project.alert_webhook_url else None
    if problem:
        raise InvalidInput(f"Webhook URL refused: {problem}.")
    project.save(update_fields=["alert_webhook_url"])
    return project
