"""API latency under load: 20 concurrent annotators against a real server on loopback.

    .venv/bin/python bench/api_load.py [--db postgres|sqlite] [--clients 20] [--seconds 60] [--floor] [--think S]

Builds a scratch database holding the 811 Chia trials (10,162 sentences) plus one annotator per
client, starts gunicorn on 127.0.0.1, and has each client loop over "get my next sentence"
(GET queue/next, which answers with the sentence and its annotations) and "save annotation" (PUT with a mention,
submitted). The queue reserves what it hands out, so the clients work on different sentences, as a team of
annotators would. Prints p50/p95/p99 and throughput per operation. Goal: p95 under 50 ms.
Also prints how busy the machine was and its CPU per operation (run it on an otherwise idle machine: with
closed-loop clients that CPU is what bounds throughput, and so latency). Traffic goes to 127.0.0.1 only;
every loop is bounded by --seconds. With --floor the same clients then call the cheapest authenticated
endpoint there is (GET the project) as long again: what Django, DRF and token auth cost by themselves under
this load, the least any of TrialMark's API endpoints can cost; and then the health check (no DRF, no
authentication, one SELECT 1) as long again: what gunicorn and Django's request cycle cost with no work.
The clients do not pause between calls (a closed loop: the server is saturated, and the goal is judged
there); --think S has each wait S seconds on average after every answer, as annotators reading a sentence
do, for the latency a team of that pace sees.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(os.environ.get("TRIALMARK_CORPORA", REPO.parent / "shared" / "corpora")) / "chia"
VENV_BIN = Path(sys.executable).parent
FLOOR_API = "floor: get the project"
FLOOR_HEALTH = "floor: health check"


def prepare(env: dict[str, str], corpus: Path, clients: int) -> tuple[int, list[str]]:
    code = f"""
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from annotation.services import corpus_import_path, membership_set, project_create
from pathlib import Path
p = project_create(name="load")
corpus_import_path(project=p, path=Path({str(corpus)!r}), fmt="brat")
# Gold on a third of the corpus is already there; annotators get the rest.
from annotation.models import Annotation
Annotation.objects.filter(sentence__project=p, annotator__isnull=True,
                          sentence__document__pk__in=[d for d in p.documents.values_list("pk", flat=True) if d % 3]).delete()
tokens = []
for i in range({clients}):
    u = User.objects.create_user(f"load{{i}}", password="x")
    membership_set(project=p, user=u, role="annotator")
    tokens.append(Token.objects.create(user=u).key)
print(json.dumps({{"project": p.pk, "tokens": tokens}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return data["project"], data["tokens"]


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy (all cores, /proc/stat), or None off Linux. With closed-loop
    clients this is what bounds throughput, and so latency: clients / (cores / CPU per operation)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def floor_loop(port: int, project: int, token: str, deadline: float, out: dict[str, list[float]]) -> None:
    """The cheapest authenticated call there is (GET the project: token, membership, a small JSON answer),
    to show what the stack itself costs under the same load."""
    get_loop(port, f"/api/projects/{project}/", {"Authorization": f"Token {token}"}, deadline, out, FLOOR_API)


def healthz_loop(port: int, project: int, token: str, deadline: float, out: dict[str, list[float]]) -> None:
    """The health check: no DRF, no authentication, one ``SELECT 1``. What gunicorn and Django's request
    cycle cost with next to no work at all."""
    get_loop(port, "/healthz/", {}, deadline, out, FLOOR_HEALTH)


def get_loop(
    port: int, path: str, headers: dict[str, str], deadline: float, out: dict[str, list[float]], op: str
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, (path, resp.status)
        out[op].append(time.perf_counter() - t)
    conn.close()


def client_loop(
    port: int, project: int, token: str, deadline: float, out: dict[str, list[float]], think: float = 0.0
) -> None:
    """One annotator: get the next sentence, save an annotation of it, again. ``think``: mean seconds the
    annotator waits after each answer (exponentially distributed, so clients drift apart); 0 is a closed
    loop that keeps the server saturated."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    rng = random.Random(token)

    def pause() -> None:
        if think > 0:
            time.sleep(max(0.0, min(rng.expovariate(1 / think), deadline - time.perf_counter())))

    def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict | None, float]:
        t = time.perf_counter()
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        elapsed = time.perf_counter() - t
        return resp.status, (json.loads(raw) if raw else None), elapsed

    base = f"/api/projects/{project}"
    while time.perf_counter() < deadline:
        # One round trip: queue/next answers with the sentence, its context and visible annotations.
        status, sentence, t_next = call("GET", f"{base}/queue/next/")
        if status == 204:
            break
        assert status == 200, (status, sentence)
        assert sentence is not None  # a 200 answer carries the sentence
        nxt = sentence
        out["get my next sentence"].append(t_next)
        pause()
        words = sentence["text"].split(" ")
        end = len(words[0]) or 1
        body = {
            "version": 0,
            "status": "submitted",
            "mentions": [
                {"id": "m1", "type": "Condition", "fragments": [[0, min(end, len(sentence["text"]))]]}
            ]
            if sentence["text"]
            else [],
            "relations": [],
        }
        status, _, t_save = call("PUT", f"{base}/sentences/{nxt['id']}/annotation/", body)
        assert status == 200, (status, _)
        out["save annotation"].append(t_save)
        pause()
    conn.close()


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000 if len(values) > 1 else 0.0
    )


def run_phase(
    args: argparse.Namespace,
    port: int,
    project: int,
    tokens: list[str],
    loop,
    ops: list[str],
    seconds: float | None = None,
    quiet: bool = False,
    note: str = "",
) -> None:
    out: dict[str, list[float]] = {op: [] for op in ops}
    deadline = time.perf_counter() + (seconds if seconds is not None else args.seconds)
    threads = [
        threading.Thread(target=loop, args=(port, project, tokens[i], deadline, out))
        for i in range(args.clients)
    ]
    busy_before, client_before = machine_busy_seconds(), os.times()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    busy_after, client_after = machine_busy_seconds(), os.times()
    if quiet:
        return
    print(
        f"{args.clients} clients{note}, {wall:.0f} s, {args.db}, gunicorn {args.workers} workers x {args.threads} "
        f"threads, 10,162 Chia sentences"
    )
    for op, values in out.items():
        print(
            f"{op:<22} n={len(values):<6} p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms  "
            f"p99 {pct(values, 99):6.1f} ms  {len(values) / wall:6.1f} ops/s"
        )
    n_ops = sum(len(v) for v in out.values())
    if busy_before is not None and busy_after is not None and n_ops:
        client = (client_after.user + client_after.system) - (client_before.user + client_before.system)
        busy = busy_after - busy_before
        print(
            f"machine CPU {busy / wall:.2f} of {os.cpu_count()} cores busy; per operation {busy / n_ops * 1000:.1f} ms "
            f"(server + database {(busy - client) / n_ops * 1000:.1f} ms, load generator {client / n_ops * 1000:.1f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    # Sync workers, as docker-compose runs the web service. With threaded (gthread) workers each client's
    # keep-alive connection stays with the worker that accepted it, and one worker took nearly all 20:
    # one process (one GIL) served the load while the machine was 40% idle (34 ops/s instead of 59).
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (1: sync workers)"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds each client waits after every answer, as an annotator reads and marks up a "
        "sentence (default 0: a closed loop, the server saturated; the goal is judged there)",
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="then run the same clients as long again on the cheapest authenticated call (GET the project), "
        "for what Django, DRF and token auth alone cost under this load, and on the health check (no DRF, "
        "no authentication), for what gunicorn and Django's request cycle cost",
    )
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="trialmark-load-")
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="webapp.settings.production",
        DJANGO_SECRET_KEY="bench-only",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_COOKIES="false",
        TRIALMARK_VAR_DIR=tmp,
        LOG_LEVEL="WARNING",
        CELERY_BROKER_URL="memory://",
    )
    pg_name = None
    if args.db == "postgres":
        import psycopg

        pg_name = f"trialmark_load_{os.getpid()}"
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{pg_name}"')
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{pg_name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/load.sqlite3"
    server = None
    try:
        project, tokens = prepare(env, args.corpus, args.clients)
        port = free_port()
        server = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "webapp.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=REPO,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        # Each worker's first requests load the URL configuration and the views: a server that has been up a
        # while has done that, so a few untimed seconds of cheap calls come first.
        run_phase(args, port, project, tokens, floor_loop, [FLOOR_API], seconds=3, quiet=True)
        annotators = functools.partial(client_loop, think=args.think)
        run_phase(
            args,
            port,
            project,
            tokens,
            annotators,
            ["get my next sentence", "save annotation"],
            note=f", think time {args.think:g} s" if args.think else "",
        )
        if args.floor:
            run_phase(args, port, project, tokens, floor_loop, [FLOOR_API])
            run_phase(args, port, project, tokens, healthz_loop, [FLOOR_HEALTH])
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if pg_name:
            import psycopg

            with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
