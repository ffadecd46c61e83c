"""Settings read from the environment: production's refusals, and PostgreSQL's connection options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from annotation.models import Project

from .conftest import REPO

SHOW = (
    "import json, django; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; print(json.dumps({'options': d.get('OPTIONS', {}), "
    "'max_age': d.get('CONN_MAX_AGE')}))"
)


def _python(
    code: str, module: str, env: dict[str, str], *, cwd: Path = REPO, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter under the settings ``module``, with this process's Django and
    database environment left out so only ``env`` configures it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean
        | {"PYTHONPATH": str(REPO), "DJANGO_SETTINGS_MODULE": module, "CELERY_BROKER_URL": "memory://"}
        | env,
    )


def _settings(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _python(SHOW, module, env)


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


CONCURRENT_SAVES = """
import json, threading, django
django.setup()
from pathlib import Path
from django.core.management import call_command
from django.contrib.auth.models import User
from django.db import connections
from annotation import services
from annotation.errors import VersionConflict
from annotation.models import Annotation, EntityType, Sentence
call_command("migrate", verbosity=0)
text = Path("criteria.txt")
text.write_text("".join(f"Patients with condition {i} are excluded.\\n" for i in range(49)))
project = services.project_create(name="race")
services.corpus_import_path(project=project, path=text, fmt="text")
EntityType.objects.get_or_create(project=project, name="Condition", defaults={"colour": "#aa0000"})
users = [User.objects.create_user(f"u{i}", password="x") for i in range(6)]
for u in users:
    services.membership_set(project=project, user=u, role="annotator")
ids = list(Sentence.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
connections.close_all()
start, errors, conflicts = threading.Barrier(6, timeout=120), [], []

def save(user, sentence_id):
    services.annotation_save(sentence=Sentence.objects.get(pk=sentence_id), actor=user, version=0,
                             mentions=[{"id": "m1", "type": "Condition", "fragments": [[0, 8]]}],
                             status="submitted")

def annotator(k):
    try:
        start.wait()
        for sentence_id in ids[k:48:6]:  # each annotator their own sentences
            save(users[k], sentence_id)
        start.wait()
        try:  # then all six at once write one annotation from version 0: one wins, five are told
            save(users[0], ids[48])
        except VersionConflict:
            conflicts.append(k)
    except Exception as e:
        errors.append(repr(e))
        start.abort()  # the others stop waiting for this one
    finally:
        connections.close_all()

threads = [threading.Thread(target=annotator, args=(k,)) for k in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"errors": errors, "conflicts": len(conflicts),
                  "submitted": Annotation.objects.filter(sentence__project=project, status="submitted").count()}))
"""


def test_sqlite_saves_at_the_same_moment_wait_for_each_other(tmp_path):
    """On the embedded default, annotators saving at once queue for SQLite's write lock: none gets
    "database is locked", and a stale write still gets a version conflict, not a silent overwrite."""
    out = _python(
        CONCURRENT_SAVES,
        "webapp.settings.local",
        {"TRIALMARK_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path}/race.sqlite3"},
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.splitlines()[-1])
    assert result == {"errors": [], "conflicts": 5, "submitted": 49}
