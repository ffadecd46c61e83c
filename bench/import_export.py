"""Time importing and exporting the 811 Chia trials, on SQLite and on PostgreSQL.

    .venv/bin/python bench/import_export.py [--db sqlite|postgres|both] [--corpus ../shared/corpora/chia]

Each database starts empty (a temporary SQLite file; a scratch PostgreSQL database that is dropped
afterwards). Prints one line per step with seconds and counts. Goal: under 60 s each way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "chia"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def run_one(database_url: str, corpus: Path) -> dict[str, object]:
    """Runs inside a child process whose DATABASE_URL points at an empty database."""
    import django

    sys.path.insert(0, str(REPO))
    os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings.local"
    os.environ["DATABASE_URL"] = database_url
    django.setup()
    from django.core.management import call_command

    from annotation.services import corpus_export, corpus_import_path, project_create

    call_command("migrate", verbosity=0)
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        project = project_create(name="Chia bench")
        t = time.perf_counter()
        summary = corpus_import_path(project=project, path=corpus, fmt="brat")
        out["import brat"] = (time.perf_counter() - t, summary)
        t = time.perf_counter()
        manifest = corpus_export(project=project, fmt="brat", out_dir=Path(tmp) / "brat", gold_only=True)
        out["export brat"] = (time.perf_counter() - t, manifest["layers"]["gold"])
        t = time.perf_counter()
        manifest = corpus_export(project=project, fmt="jsonl", out_dir=Path(tmp) / "jsonl", gold_only=True)
        out["export jsonl"] = (time.perf_counter() - t, manifest["layers"]["gold"])
        project2 = project_create(name="Chia bench jsonl")
        t = time.perf_counter()
        summary = corpus_import_path(project=project2, path=Path(tmp) / "jsonl" / "gold.jsonl", fmt="jsonl")
        out["import jsonl"] = (time.perf_counter() - t, summary)
    return out


def child(database_url: str, corpus: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", database_url, "--corpus", str(corpus)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.corpus)))
        return
    results: dict[str, dict[str, Any]] = {}
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results["SQLite"] = child(f"sqlite:///{tmp}/bench.sqlite3", args.corpus)
    if args.db in ("postgres", "both"):
        import psycopg

        name = f"trialmark_bench_{os.getpid()}"
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            results["PostgreSQL"] = child(f"postgres://postgres@127.0.0.1:5432/{name}", args.corpus)
        finally:
            with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"Chia corpus: {args.corpus}")
    for db, steps in results.items():
        for step, (seconds, counts) in steps.items():
            shown = {
                k: v
                for k, v in counts.items()
                if k in ("documents", "sentences", "mentions", "relations", "groups")
            }
            print(f"{db:<11} {step:<13} {seconds:7.2f} s   {shown}")


if __name__ == "__main__":
    main()
