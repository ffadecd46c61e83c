"""Annotation page render time in headless Chromium: a document of 60 criteria holding 400 mentions.

    .venv/bin/python bench/ui_render.py [--rounds 1] [--edits 3]

Builds a scratch SQLite database with one generated inclusion-criteria document (60 criteria, 400 mentions
of five types, nested, overlapping and discontinuous ones among them, 240 relations, all in one annotator's
drafts) and three model suggestions per criterion from an active model version. Starts gunicorn on
127.0.0.1, logs in through the real form in Debian's headless Chromium, then opens each criterion's
annotation page in turn and reads, from the page itself:

- first render: the editor drawing the criterion (layout reads, lanes, arcs, SVG, panels), ms;
- page ready: navigation start to the editor ready (HTML, CSS, JS, first render), ms;
- edit to paint: a mention created from the keyboard until the next frame is painted, ms.

Prints median / p95 / max of each. Goal: under 300 ms per sentence view. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("TRIALMARK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TRIALMARK_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")

# The generated document: clause templates with the mentions each clause carries, as (type, [(start, end)])
# offsets into the clause. A criterion strings clauses together until it holds its share of mentions.
CLAUSES = [
    ("type 2 diabetes mellitus with HbA1c ≥ 7.5% within 3 months",
     [("Condition", [(0, 24)]), ("Condition", [(7, 24)]), ("Measurement", [(30, 35)]), ("Value", [(36, 42)]),
      ("Temporal", [(43, 58)])]),
    ("breast or ovarian cancer treated with tamoxifen",
     [("Condition", [(0, 6), (17, 23)]), ("Condition", [(10, 23)]), ("Drug", [(37, 46)])]),
    ("eGFR < 45 mL/min/1.73 m² at screening",
     [("Measurement", [(0, 4)]), ("Value", [(5, 24)]), ("Temporal", [(28, 37)])]),
    ("prior exposure to anti-PD-1 antibodies in the last 6 months",
     [("Drug", [(18, 38)]), ("Drug", [(18, 27)]), ("Temporal", [(42, 59)])]),
    ("systolic blood pressure above 160 mmHg despite treatment",
     [("Measurement", [(0, 23)]), ("Value", [(24, 38)]), ("Measurement", [(9, 23)])]),
    ("Ünal score of 3 or higher",
     [("Measurement", [(0, 10)]), ("Value", [(11, 25)])]),
]
RELS = {"Measurement": ("Value", "Has_value"), "Condition": ("Temporal", "Has_temporal")}
SCHEMA = {
    "entity_types": [{"name": n, "hotkey": k} for n, k in
                     (("Condition", "c"), ("Measurement", "m"), ("Value", "v"), ("Temporal", "t"), ("Drug", "d"))],
    "relation_types": [
        {"name": "Has_value", "allowed_heads": ["Measurement", "Condition"], "allowed_tails": ["Value"]},
        {"name": "Has_temporal", "allowed_tails": ["Temporal"]},
        {"name": "AND", "symmetric": True},
    ],
}


def generate(n_criteria: int = 60, n_mentions: int = 400) -> list[dict]:
    """Criteria with their mentions and relations: exactly ``n_mentions`` mentions over ``n_criteria``."""
    out = []
    clause = 0
    for i in range(n_criteria):
        want = n_mentions // n_criteria + (1 if i < n_mentions % n_criteria else 0)
        text = ""
        mentions: list[dict] = []
        while len(mentions) < want:
            body, ms = CLAUSES[clause % len(CLAUSES)]
            clause += 1
            if text:
                text += "; "
            offset = len(text)
            text += body
            for t, frags in ms[: want - len(mentions)]:
                mentions.append({"id": str(len(mentions) + 1), "type": t,
                                 "fragments": [[offset + s, offset + e] for s, e in frags]})
        text = text[0].upper() + text[1:]
        relations: list[dict] = []
        for m in mentions:
            target = RELS.get(str(m["type"]))
            if not target:
                continue
            tail = next((o for o in mentions if o["type"] == target[0] and o["fragments"][0][0] > m["fragments"][0][0]),
                        None)
            if tail is not None and len(relations) < 4:
                relations.append({"type": target[1], "head": m["id"], "tail": tail["id"]})
        drugs = [m for m in mentions if m["type"] == "Drug"]
        if len(drugs) >= 2:
            relations.append({"type": "AND", "head": drugs[0]["id"], "tail": drugs[1]["id"]})
        out.append({"text": text, "mentions": mentions, "relations": relations})
    return out


def prepare(env: dict[str, str], criteria: list[dict]) -> dict:
    code = f"""
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("collectstatic", verbosity=0, interactive=False)
from django.contrib.auth.models import User
from annotation.models import Document, Sentence, ModelVersion, SentencePrediction
from annotation.services import annotation_save, membership_set, project_create
criteria = json.loads({json.dumps(json.dumps(criteria))})
p = project_create(name="render", schema={SCHEMA!r}, allow_new_labels=False)
u = User.objects.create_user("bench", password="bench-pw")
membership_set(project=p, user=u, role="annotator")
text = "\\n".join(c["text"] for c in criteria)
doc = Document.objects.create(project=p, external_id="BENCH_inc", section="inclusion", text=text)
v = ModelVersion.objects.create(project=p, number=1, architecture="span.v1", status="active")
ids, pos, n_rel = [], 0, 0
for i, c in enumerate(criteria):
    s = Sentence.objects.create(project=p, document=doc, position=i, start=pos, end=pos + len(c["text"]), text=c["text"])
    pos += len(c["text"]) + 1
    annotation_save(sentence=s, actor=u, version=0, mentions=c["mentions"], relations=c["relations"])
    n_rel += len(c["relations"])
    sugg = [{{"type": m["type"], "fragments": [[f[0], f[1] - 1] for f in m["fragments"]], "score": 0.6}}
            for m in c["mentions"][:3] if m["fragments"][-1][1] - m["fragments"][-1][0] > 1]
    SentencePrediction.objects.create(sentence=s, model_version=v, mentions=sugg, score=float(len(criteria) - i),
                                      uncertainty={{"entity_entropy_norm": 0.2}})
    ids.append(s.pk)
print(json.dumps({{"project": p.pk, "sentences": ids, "relations": n_rel}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stats(values: list[float]) -> str:
    v = sorted(values)
    p95 = v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]
    return f"median {statistics.median(v):6.1f} ms   p95 {p95:6.1f} ms   max {v[-1]:6.1f} ms   (n={len(v)})"


EDIT_JS = """
var done = arguments[0];
window.TMEditor.setPending(0, 1);
var t0 = performance.now();
document.dispatchEvent(new KeyboardEvent('keydown', {key: 'd', bubbles: true}));
requestAnimationFrame(function () { setTimeout(function () { done(performance.now() - t0); }, 0); });
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1, help="passes over the 60 criteria")
    parser.add_argument("--edits", type=int, default=3, help="keyboard edits timed per criterion")
    args = parser.parse_args()
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        raise SystemExit(f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    criteria = generate()
    tmp = tempfile.mkdtemp(prefix="trialmark-ui-")
    # Production settings (static files collected and served by WhiteNoise with far-future caching), as a
    # deployment serves the page; cookies without the Secure flag because this is plain HTTP on loopback.
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="webapp.settings.production", DJANGO_SECRET_KEY="bench-only",
               DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", DJANGO_SECURE_COOKIES="false", TRIALMARK_VAR_DIR=tmp,
               DATABASE_URL=f"sqlite:///{tmp}/ui.sqlite3", CELERY_BROKER_URL="memory://", LOG_LEVEL="WARNING")
    server = driver = None
    try:
        info = prepare(env, criteria)
        port = free_port()
        server = subprocess.Popen([str(VENV_BIN / "gunicorn"), "webapp.wsgi:application", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "2", "--log-level", "warning"], env=env, cwd=REPO)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        base = f"http://127.0.0.1:{port}"
        driver.get(base + "/login/")
        driver.find_element(By.NAME, "username").send_keys("bench")
        driver.find_element(By.NAME, "password").send_keys("bench-pw")
        driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
        WebDriverWait(driver, 10).until(lambda d: "/login/" not in d.current_url)
        first, ready, edits, server_ms, dom_ms = [], [], [], [], []
        drawn_mentions = 0
        for _ in range(args.rounds):
            for sid in info["sentences"]:
                driver.get(f"{base}/projects/{info['project']}/sentences/{sid}/annotate/")
                WebDriverWait(driver, 15).until(
                    lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-editor-ready"))
                first.append(driver.execute_script("return TMEditor.firstRender;"))
                ready.append(float(driver.find_element(By.TAG_NAME, "body").get_attribute("data-editor-ready") or "nan"))
                nav = driver.execute_script("var n = performance.getEntriesByType('navigation')[0];"
                                            "return [n.responseEnd, n.domContentLoadedEventEnd];")
                server_ms.append(nav[0])
                dom_ms.append(nav[1])
                drawn_mentions += driver.execute_script("return TMEditor.state().mentions.length;")
                for _ in range(args.edits):
                    edits.append(driver.execute_async_script(EDIT_JS))
                    driver.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', "
                                          "{key: 'z', ctrlKey: true, bubbles: true}));")
        n_mentions = sum(len(c["mentions"]) for c in criteria)
        print(f"document: {len(criteria)} criteria, {n_mentions} mentions ({drawn_mentions // args.rounds} drawn), "
              f"{info['relations']} relations, 3 suggestions per criterion; headless Chromium "
              f"{driver.capabilities.get('browserVersion', '?')}, 1400x1000, gunicorn (production settings) + SQLite on 127.0.0.1")
        print(f"first render per sentence view  {stats(first)}")
        print(f"  of which HTML received        {stats(server_ms)}")
        print(f"  of which DOM content loaded   {stats(dom_ms)}")
        print(f"page ready per sentence view    {stats(ready)}")
        print(f"keyboard edit to painted frame  {stats(edits)}")
        print(f"goal: under 300 ms per sentence view -> {'met' if max(ready) < 300 else 'NOT met'} "
              f"(worst page ready {max(ready):.0f} ms)")
    finally:
        if driver is not None:
            driver.quit()
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
