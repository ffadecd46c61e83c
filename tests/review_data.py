"""Two annotators who agree on part of a sentence and disagree on the rest: the review tests' data.

Sentence: "Type 2 diabetes with HbA1c > 7% within 3 months".
- both: Condition "Type 2 diabetes", Measurement "HbA1c", Value "> 7%", Has_value(HbA1c → > 7%)
- alice: Temporal "3 months"
- bob:   Temporal "within 3 months", Has_temporal(HbA1c → within 3 months)
A second sentence where both agree completely, and a third that only alice submitted.
"""

from __future__ import annotations

from annotation.models import Document, Role, Sentence
from annotation.services import annotation_save, membership_set

from .factories import UserFactory

TEXT = "Type 2 diabetes with HbA1c > 7% within 3 months"
AGREED_TEXT = "No insulin"
SINGLE_TEXT = "Pregnancy"


def span(text: str, part: str) -> list[list[int]]:
    start = text.index(part)
    return [[start, start + len(part)]]


def build(project) -> dict:
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    for u in (alice, bob):
        membership_set(project=project, user=u, role=Role.ANNOTATOR)
    full = "\n".join([TEXT, AGREED_TEXT, SINGLE_TEXT])
    doc = Document.objects.create(project=project, external_id="NCT9_inc", group_key="NCT9", section="inclusion",
                                  text=full)
    sentences, start = [], 0
    for i, t in enumerate((TEXT, AGREED_TEXT, SINGLE_TEXT)):
        sentences.append(Sentence.objects.create(project=project, document=doc, position=i, start=start,
                                                 end=start + len(t), text=t))
        start += len(t) + 1
    s, agreed, single = sentences
    common = [
        {"id": "c", "type": "Condition", "fragments": span(TEXT, "Type 2 diabetes")},
        {"id": "m", "type": "Measurement", "fragments": span(TEXT, "HbA1c")},
        {"id": "v", "type": "Value", "fragments": span(TEXT, "> 7%")},
    ]
    has_value = {"type": "Has_value", "head": "m", "tail": "v"}
    annotation_save(sentence=s, actor=alice, version=0, status="submitted",
                    mentions=common + [{"id": "t", "type": "Temporal", "fragments": span(TEXT, "3 months")}],
                    relations=[has_value])
    annotation_save(sentence=s, actor=bob, version=0, status="submitted",
                    mentions=common + [{"id": "t", "type": "Temporal", "fragments": span(TEXT, "within 3 months")}],
                    relations=[has_value, {"type": "Has_temporal", "head": "m", "tail": "t"}])
    drug = [{"id": "d", "type": "Drug", "fragments": span(AGREED_TEXT, "insulin")}]
    for u in (alice, bob):
        annotation_save(sentence=agreed, actor=u, version=0, status="submitted", mentions=drug)
    annotation_save(sentence=single, actor=alice, version=0, status="submitted",
                    mentions=[{"id": "p", "type": "Condition", "fragments": [[0, 9]]}])
    return {"alice": alice, "bob": bob, "document": doc, "sentence": s, "agreed": agreed, "single": single}
