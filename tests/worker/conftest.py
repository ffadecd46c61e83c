"""A real Celery worker (in a thread) on a real broker: Redis when TRIALMARK_TEST_BROKER_URL is set."""

from __future__ import annotations

import os

import pytest
from celery.contrib.testing.worker import start_worker

from webapp.celery import app as celery_app


@pytest.fixture
def celery_worker(transactional_db):
    broker = os.environ.get("TRIALMARK_TEST_BROKER_URL", "memory://")
    celery_app.conf.update(broker_url=broker, task_always_eager=False, broker_transport_options={},
                           result_backend=None, task_ignore_result=True)
    # An earlier test may have published (eager off) and left the app's connection and producer pools
    # bound to the previous broker; tasks would then go where this worker never looks.
    _reset_pools()
    if broker.startswith("redis"):
        import redis

        redis.Redis.from_url(broker).flushdb()  # a clean queue: nothing left over from an earlier run
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=["default", "gpu"]) as worker:
        yield worker


def _reset_pools() -> None:
    # Only drop the references: kombu's global producer registry may still hand the old pools to
    # a connection for the same broker, so they must stay usable.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


TRAIN = [
    ("HbA1c above 7 %", [("HbA1c", "Measurement"), ("7 %", "Value")], [(0, 1, "Has_value")]),
    ("Diabetes and hypertension", [("Diabetes", "Condition"), ("hypertension", "Condition")], [(0, 1, "AND")]),
    ("Treated with metformin", [("metformin", "Drug")], []),
    ("Insulin dose 10 units", [("Insulin", "Drug"), ("10 units", "Value")], []),
]
DEV = [
    ("HbA1c above 8 %", [("HbA1c", "Measurement"), ("8 %", "Value")], [(0, 1, "Has_value")]),
    ("Treated with insulin", [("insulin", "Drug")], []),
]
UNLABELLED = ["Asthma and diabetes", "Creatinine above 2 mg", "Pregnancy"]


def _add_document(project, external_id, split, rows, curator):
    from annotation.models import Document, Sentence
    from annotation.services import annotation_save

    text = "\n".join(r if isinstance(r, str) else r[0] for r in rows)
    doc = Document.objects.create(project=project, external_id=external_id, group_key=external_id, split=split,
                                  text=text)
    pos = 0
    for i, row in enumerate(rows):
        sent_text = row if isinstance(row, str) else row[0]
        sentence = Sentence.objects.create(project=project, document=doc, position=i, start=pos,
                                           end=pos + len(sent_text), text=sent_text)
        pos += len(sent_text) + 1
        if isinstance(row, str):
            continue
        _, spans, rels = row
        mentions = []
        at = 0
        for j, (surface, typ) in enumerate(spans):
            s = sent_text.index(surface, at)
            mentions.append({"id": f"m{j}", "type": typ, "fragments": [[s, s + len(surface)]]})
            at = s + 1
        relations = [{"type": r, "head": f"m{h}", "tail": f"m{t}"} for h, t, r in rels]
        annotation_save(sentence=sentence, actor=curator, gold=True, version=0, mentions=mentions,
                        relations=relations)


@pytest.fixture
def ml_project(project, members, tiny_encoder, tmp_path, settings):
    """The shared test project with a few gold sentences (train + dev), three unlabelled ones, the
    tiny encoder and a 2-epoch config; artifacts go under tmp_path."""
    settings.TRIALMARK_MODEL_ROOT = tmp_path / "models"
    project.encoder = tiny_encoder
    project.retrain_min_new_gold = 3
    project.save()
    _add_document(project, "NCT1_inc", "train", TRAIN, members["curator"])
    _add_document(project, "NCT2_inc", "dev", DEV, members["curator"])
    _add_document(project, "NCT3_inc", "train", UNLABELLED, members["curator"])
    return project


TINY_CONFIG = {"epochs": 2, "batch_size": 2, "neg_entities": 20, "neg_relations": 20}
