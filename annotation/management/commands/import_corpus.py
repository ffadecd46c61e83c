from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotation.errors import DomainError
from annotation.models import Project
from annotation.services import corpus_import_path, project_create


class Command(BaseCommand):
    help = "Import a corpus (all-or-nothing) into a project, creating the project if needed."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("path", help="a folder, a .zip, or a file")
        parser.add_argument("--project", required=True, help="project name (created if it does not exist)")
        parser.add_argument("--format", required=True, choices=["brat", "spert", "jsonl", "text"])
        gold = parser.add_mutually_exclusive_group()
        gold.add_argument("--as-gold", dest="as_gold", action="store_true", default=True,
                          help="store the annotations as gold (the default)")
        gold.add_argument("--annotator", help="store the annotations as this user's submitted work instead")
        parser.add_argument("--split", choices=["train", "dev", "test"], help="force every document into a split")
        parser.add_argument("--text-mode", choices=["lines", "sections"], default="lines",
                            help="plain text: one criterion per line, or whole eligibility sections")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        path = Path(opts["path"])
        if not path.exists():
            raise CommandError(f"{path}: no such file or folder")
        annotator = None
        if opts["annotator"]:
            annotator = get_user_model().objects.filter(username=opts["annotator"]).first()
            if annotator is None:
                raise CommandError(f"No user named {opts['annotator']!r}.")
        project = Project.objects.filter(name=opts["project"]).first()
        try:
            if project is None:
                project = project_create(name=opts["project"])
                self.stdout.write(f"Created project {project.name!r}.")
            summary = corpus_import_path(
                project=project, path=path, fmt=opts["format"], as_gold=annotator is None, annotator=annotator,
                split=opts["split"], text_mode=opts["text_mode"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(
            "Imported " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.items())
        ))
