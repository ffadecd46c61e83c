"""A project with a model history, predictions, two annotators and gold: the dashboard's test data.

Figures below are worked out by hand in the tests that use it (tests/annotation/test_dashboard.py)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from annotation.models import (
    Annotation,
    AnnotationStatus,
    Document,
    ModelStatus,
    ModelVersion,
    Role,
    Sentence,
    SentencePrediction,
)
from annotation.services import annotation_save, membership_set
from mlcore import Example, Schema
from mlcore import Mention as M
from mlcore import Relation as R
from mlcore.metrics import calibration_report, evaluate

from .factories import UserFactory

S1, S2, S3 = "HbA1c above 7 %", "No diabetes", "Pregnancy"
ANN1_S1 = [{"id": "m", "type": "Measurement", "fragments": [[0, 5]]}, {"id": "v", "type": "Value", "fragments": [[12, 15]]}]
ANN2_S1 = [{"id": "m", "type": "Measurement", "fragments": [[0, 5]]}, {"id": "v", "type": "Value", "fragments": [[12, 13]]}]
COND = [{"id": "c", "type": "Condition", "fragments": [[3, 11]]}]
HAS_VALUE = [{"type": "Has_value", "head": "m", "tail": "v"}]
SCHEMA = Schema(entity_types=["Condition", "Measurement", "Value", "Temporal", "Drug"], relation_types=[])


def report(n_right: int, n_wrong: int, rel_right: int = 0, score: float = 0.9) -> dict:
    """An evaluation report over 4 gold Condition mentions and 2 gold AND relations (0-1, 2-3):
    ``n_right`` mentions predicted right, ``n_wrong`` wrong, the first ``rel_right`` relations right, all
    with confidence ``score``. Entity F1 = 2·right / (4 + right + wrong); relation F1 = 2·k / (2 + k)."""
    gold = [Example(text="x" * 40, mentions=[M(i * 5, i * 5 + 3, "Condition") for i in range(4)],
                    relations=[R(0, 1, "AND"), R(2, 3, "AND")])]
    pred_m = [M(i * 5, i * 5 + 3, "Condition", score=score) for i in range(n_right)]
    pred_m += [M(30 + i, 31 + i, "Drug", score=score) for i in range(n_wrong)]
    pred_r = [R(2 * k, 2 * k + 1, "AND", score=score) for k in range(rel_right)]
    pred = [Example(text=gold[0].text, mentions=pred_m, relations=pred_r)]
    r = evaluate(gold, pred, SCHEMA)
    r["calibration"] = calibration_report(gold, pred, SCHEMA)
    r["n_examples"] = 1
    return r


def build(project, members) -> dict:
    """v1 retired (F1 50), v2 rejected (F1 33.33), v3 failed, v4 active (F1 75); predictions of v4 on s1
    and s2 made before two annotators (and gold on s1) annotated them."""
    second = UserFactory(username="second-annotator")
    membership_set(project=project, user=second, role=Role.ANNOTATOR)
    now = timezone.now()
    versions = {}
    for number, status, metrics, trained in [
        (1, ModelStatus.RETIRED, report(2, 2, 1), 20),  # P 2/4 R 2/4 -> F1 50; relations 66.67
        (2, ModelStatus.REJECTED, report(1, 1), 30),  # P 1/2 R 1/4 -> F1 33.33; relations 0
        (3, ModelStatus.FAILED, {}, None),
        (4, ModelStatus.ACTIVE, report(3, 1, 1), 40),  # P 3/4 R 3/4 -> F1 75; relations 66.67
    ]:
        versions[number] = ModelVersion.objects.create(
            project=project, number=number, architecture="tagger.v1" if number == 2 else "span.v1", status=status, metrics=metrics,
            train_fingerprint={"sentences": trained} if trained else {}, trained_on_gold_count=trained or 0,
            comparison={"reason": "relation_f1 worse than the active version by more than 0.01"}
            if status == ModelStatus.REJECTED else {},
            error="RuntimeError: CUDA out of memory" if status == ModelStatus.FAILED else "",
        )
        ModelVersion.objects.filter(pk=versions[number].pk).update(created_at=now - timedelta(days=10 - number))
    doc = Document.objects.create(project=project, external_id="NCT9_inc", group_key="NCT9", split="dev",
                                  text=f"{S1}\n{S2}\n{S3}")
    sents = []
    pos = 0
    for i, text in enumerate((S1, S2, S3)):
        sents.append(Sentence.objects.create(project=project, document=doc, position=i, start=pos,
                                             end=pos + len(text), text=text))
        pos += len(text) + 1
    earlier = now - timedelta(hours=3)
    SentencePrediction.objects.create(sentence=sents[0], model_version=versions[4], mentions=[
        {"type": "Measurement", "fragments": [[0, 5]], "score": 0.9},
        {"type": "Value", "fragments": [[12, 15]], "score": 0.8},
        {"type": "Drug", "fragments": [[6, 11]], "score": 0.4},
    ], relations=[{"type": "Has_value", "head": 0, "tail": 1, "score": 0.7}])
    SentencePrediction.objects.create(sentence=sents[1], model_version=versions[4], mentions=[
        {"type": "Condition", "fragments": [[3, 11]], "score": 0.95}])
    SentencePrediction.objects.create(sentence=sents[2], model_version=versions[4], mentions=[])
    SentencePrediction.objects.filter(sentence__document=doc).update(created_at=earlier)
    ann1, ann2 = members["annotator"], second
    for user, s1_mentions in ((ann1, ANN1_S1), (ann2, ANN2_S1)):
        annotation_save(sentence=sents[0], actor=user, version=0, mentions=s1_mentions, relations=HAS_VALUE,
                        status=AnnotationStatus.SUBMITTED)
        annotation_save(sentence=sents[1], actor=user, version=0, mentions=COND, status=AnnotationStatus.SUBMITTED)
    annotation_save(sentence=sents[0], actor=members["curator"], gold=True, version=0, mentions=ANN1_S1,
                    relations=HAS_VALUE)
    # annotator-user: s1 at t0, s2 three minutes later (20 sentences/hour); second: 40 min apart (a break)
    t0 = now - timedelta(hours=1)
    for user, gap in ((ann1, 3), (ann2, 40)):
        Annotation.objects.filter(annotator=user, sentence=sents[0]).update(updated_at=t0)
        Annotation.objects.filter(annotator=user, sentence=sents[1]).update(updated_at=t0 + timedelta(minutes=gap))
    return {"versions": versions, "sentences": sents, "document": doc, "second": second}
