from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.errors import DomainError
from annotation.models import Project
from annotation.services import corpus_export, corpus_export_zip
from annotation.services.export_jobs import resolve_predictions


class Command(BaseCommand):
    help = "Export a project's corpus (gold by default) as BRAT, SpERT JSON, CoNLL/BIO or JSONL."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--project", required=True)
        parser.add_argument("--format", required=True, choices=["brat", "spert", "conll", "jsonl"])
        parser.add_argument("--out", required=True,
                            help="output folder (created if needed), or the zip file to write with --zip")
        parser.add_argument("--zip", action="store_true", default=False,
                            help="write one zip (the same bytes as the export page's download) instead of a folder")
        parser.add_argument("--predictions", default=None, metavar="active|NUMBER",
                            help="add a model version's predictions as a layer (predictions-v<N>)")
        parser.add_argument("--split", choices=["train", "dev", "test"])
        parser.add_argument("--gold-only", action="store_true", default=False,
                            help="only the gold layer (default: gold plus every annotator's layer)")
        parser.add_argument("--discontinuous", choices=["cover", "skip"], default="cover",
                            help="SpERT/CoNLL: export a discontinuous mention as its covering span, or skip it")
        parser.add_argument("--nested", choices=["outermost", "innermost", "first"], default="outermost",
                            help="CoNLL: which of overlapping mentions keeps its tokens")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        project = Project.objects.filter(name=opts["project"]).first()
        if project is None:
            raise CommandError(f"No project named {opts['project']!r}.")
        options = dict(split=opts["split"], gold_only=opts["gold_only"], discontinuous=opts["discontinuous"],
                       nested=opts["nested"])
        try:
            options["predictions"] = resolve_predictions(project, opts["predictions"])
            if opts["zip"]:
                _, manifest = corpus_export_zip(project=project, fmt=opts["format"], zip_path=Path(opts["out"]),
                                                **options)
            else:
                manifest = corpus_export(project=project, fmt=opts["format"], out_dir=Path(opts["out"]), **options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        for layer, counts in manifest["layers"].items():
            self.stdout.write(f"{layer}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        self.stdout.write(self.style.SUCCESS(f"Exported to {opts['out']}"))
