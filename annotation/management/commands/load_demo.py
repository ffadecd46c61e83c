import json
import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from annotation.models import Document, Project, Role
from annotation.services import corpus_import_path, membership_set, project_create, schema_apply

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
PROJECT_NAME = "Demo: eligibility criteria"
USERS = [("demo", Role.ADMIN), ("curator", Role.CURATOR), ("annotator1", Role.ANNOTATOR), ("annotator2", Role.ANNOTATOR)]


class Command(BaseCommand):
    help = "Create the demo project, its logins and its corpus (idempotent: a second run changes nothing)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--password", default=os.environ.get("TRIALMARK_DEMO_PASSWORD", "trialmark-demo"))

    @transaction.atomic
    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        User = get_user_model()
        users = {}
        for username, _ in USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(opts["password"])
                user.is_staff = username == "demo"
                user.is_superuser = username == "demo"
                user.save()
            users[username] = user
        project = Project.objects.filter(name=PROJECT_NAME).first()
        if project is None:
            project = project_create(
                name=PROJECT_NAME,
                created_by=users["demo"],
                description="Made-up eligibility criteria of a dozen fictional trials, about a third annotated "
                            "as gold in the Chia schema; the rest waits for the model and the annotators.",
                guideline=(DEMO_DIR / "guideline.md").read_text(encoding="utf-8"),
                allow_new_labels=False,
                retrain_min_new_gold=20,
            )
            schema_apply(project=project, schema=json.loads((DEMO_DIR / "schema.json").read_text(encoding="utf-8")))
        for username, role in USERS:
            membership_set(project=project, user=users[username], role=role)
        if not Document.objects.filter(project=project).exists():
            summary = corpus_import_path(project=project, path=DEMO_DIR / "corpus", fmt="brat", as_gold=True)
            self.stdout.write("Imported " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.items()))
        else:
            self.stdout.write("Demo corpus already loaded.")
        self.stdout.write(self.style.SUCCESS(
            f"Demo project {PROJECT_NAME!r} ready. Log in as 'demo' (admin), 'curator', 'annotator1' or "
            f"'annotator2' with password {opts['password']!r}."
        ))
