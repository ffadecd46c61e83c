"""A small inclusion-criteria document with an active model's suggestions: the annotation page's test data.

The active model (v1) ranks the sentences HBA1C first, then CANCER, then BMI, then ADULTS (queue scores 4..1), so
the queue of a fresh annotator opens HBA1C, and after it CANCER.
"""

from __future__ import annotations

from annotation.models import Document, ModelStatus, ModelVersion, Sentence, SentencePrediction

ADULTS = "Adults aged 18 to 75 years"
HBA1C = "HbA1c > 7% within 3 months of screening"
CANCER = "Breast or ovarian cancer treated with tamoxifen within 5 years"
BMI = "Body mass index ≥ 25 kg/m² (Ünal criteria)"
TEXTS = [ADULTS, HBA1C, CANCER, BMI]
SCORES = {ADULTS: 1.0, HBA1C: 4.0, CANCER: 3.0, BMI: 2.0}
# Suggestions for HBA1C (offsets into HBA1C): Measurement "HbA1c", Value "> 7%", Temporal "within 3 months".
HBA1C_SUGGESTIONS = [
    {"type": "Measurement", "fragments": [[0, 5]], "score": 0.93},
    {"type": "Value", "fragments": [[6, 10]], "score": 0.81},
    {"type": "Temporal", "fragments": [[11, 26]], "score": 0.55},
]
HBA1C_RELATIONS = [{"type": "Has_value", "head": 0, "tail": 1, "score": 0.77}]
UNCERTAINTY = {"entity_entropy_norm": 0.31, "relation_entropy_norm": 0.12, "entity_lc_max": 0.45}


def build(project) -> dict:
    text = "\n".join(TEXTS)
    doc = Document.objects.create(project=project, external_id="NCT0001_inc", group_key="NCT0001",
                                  section="inclusion", text=text)
    sentences = {}
    pos = 0
    for i, t in enumerate(TEXTS):
        sentences[t] = Sentence.objects.create(project=project, document=doc, position=i, start=pos,
                                               end=pos + len(t), text=t)
        pos += len(t) + 1
    version = ModelVersion.objects.create(project=project, number=1, architecture="span.v1",
                                          status=ModelStatus.ACTIVE, ranked_with=project.queue_strategy)
    for t, s in sentences.items():
        SentencePrediction.objects.create(
            sentence=s, model_version=version, score=SCORES[t], uncertainty=UNCERTAINTY,
            mentions=HBA1C_SUGGESTIONS if t == HBA1C else [],
            relations=HBA1C_RELATIONS if t == HBA1C else [],
        )
    return {"document": doc, "sentences": sentences, "version": version}
