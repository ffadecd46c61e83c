"""Settings read from the environment: production's refusals, and PostgreSQL's connection options."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from annotation.models import Project

from .conftest import REPO

SHOW = (
    "import json, django; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; print(json.dumps({'options': d.get('OPTIONS', {}), "
    "'max_age': d.get('CONN_MAX_AGE')}))"
)


def _settings(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean | {"DJANGO_SETTINGS_MODULE": module, "CELERY_BROKER_URL": "memory://"} | env,
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"DJANGO_ALLOWED_HOSTS": "example.org"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "s3cret"}, "DJANGO_ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without_secret_or_hosts(env, missing, tmp_path):
    out = _settings("webapp.settings.production", TRIALMARK_VAR_DIR=str(tmp_path), **env)
    assert out.returncode != 0
    assert f"{missing} must be set in production" in out.stderr


def test_postgres_prepares_statements_unless_turned_off(tmp_path):
    url = {"DATABASE_URL": "postgres://u@db.example:5432/x", "TRIALMARK_VAR_DIR": str(tmp_path)}
    on = _settings("webapp.settings.local", **url)
    assert on.returncode == 0, on.stderr
    assert json.loads(on.stdout.splitlines()[-1]) == {
        "options": {"server_side_binding": True, "prepare_threshold": 2},
        "max_age": 60,
    }
    off = _settings("webapp.settings.local", DATABASE_PREPARE_THRESHOLD="0", **url)
    assert json.loads(off.stdout.splitlines()[-1])["options"] == {}
    sqlite = _settings("webapp.settings.local", DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    assert "server_side_binding" not in json.loads(sqlite.stdout.splitlines()[-1])["options"]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_repeated_query_runs_as_a_prepared_statement():
    Project.objects.create(name="p")
    for _ in range(3):
        assert Project.objects.filter(name="p").count() == 1
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cur.fetchall()]
    assert any('"annotation_project"' in s and "COUNT(*)" in s for s in statements), statements
