"""Import is all-or-nothing; export gives back what went in."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from annotation import formats
from annotation.errors import ImportRefused
from annotation.models import Annotation, Document, EntityType, Mention, MentionGroup, Relation, Sentence
from annotation.services import corpus_export, corpus_import_path, project_create
from annotation.services.corpus_import import layout_sentences

pytestmark = pytest.mark.django_db

TEXT = "Adults with type 2 diabetes\r\nHbA1c ≥ 7,5 % within 3 months\r\nNo insulin or metformin use\r\n"


def _ann(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def write_pair(folder: Path, stem: str, text: str, ann: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.txt").write_bytes(text.encode("utf-8"))
    (folder / f"{stem}.ann").write_bytes(ann.encode("utf-8"))


def good_ann() -> str:
    # Offsets count \r\n as two characters; ≥ is one code point.
    return _ann(
        "T1\tCondition 12 27\ttype 2 diabetes",
        "T2\tMeasurement 29 34\tHbA1c",
        "T3\tValue 35 42\t≥ 7,5 %",
        "T4\tTemporal 43 58\twithin 3 months",
        "R1\tHas_value Arg1:T2 Arg2:T3\t",
        "R2\tHas_temporal Arg1:T2 Arg2:T4\t",
        "T5\tDrug 63 70\tinsulin",
        "T6\tDrug 74 83\tmetformin",
        "*\tOR T5 T6",
        "T7\tCondition 60 62;74 83\tNo metformin",
        "T8\tCondition 12 27\ttype 2 diabetes",
    )


def test_import_brat_keeps_crlf_offsets_groups_discontinuous_and_merges_duplicates(project, tmp_path):
    write_pair(tmp_path, "NCT0001_inc", TEXT, good_ann())
    summary = corpus_import_path(project=project, path=tmp_path, fmt="brat")
    assert summary["documents"] == 1 and summary["sentences"] == 3
    assert summary["mentions"] == 7 and summary["duplicates_merged"] == 1
    doc = Document.objects.get(external_id="NCT0001_inc")
    assert doc.group_key == "NCT0001" and doc.section == "inclusion" and doc.newline == "\r\n"
    sentences = list(doc.sentences.order_by("position"))
    assert [s.text for s in sentences] == TEXT.split("\r\n")[:3]
    value = Mention.objects.get(entity_type__name="Value")
    assert sentences[1].text[value.start:value.end] == "≥ 7,5 %"
    disc = Mention.objects.get(source_id="T7")
    assert [sentences[2].text[s:e] for s, e in disc.fragments] == ["No", "metformin"]
    assert Relation.objects.count() == 2 and MentionGroup.objects.get().members.count() == 2


def test_export_brat_gives_back_what_went_in(project, tmp_path):
    write_pair(tmp_path / "in", "NCT0001_inc", TEXT, good_ann())
    corpus_import_path(project=project, path=tmp_path / "in", fmt="brat")
    corpus_export(project=project, fmt="brat", out_dir=tmp_path / "out", gold_only=True)
    assert (tmp_path / "out" / "NCT0001_inc.txt").read_bytes() == TEXT.encode("utf-8")
    before, after = (formats.read_brat(tmp_path / d)[0] for d in ("in", "out"))

    def content(doc):
        by_id = {m.id: (m.type, tuple(map(tuple, m.fragments))) for m in doc.mentions}
        return (
            set(by_id.values()),
            {(r.type, by_id[r.head], by_id[r.tail]) for r in doc.relations},
            {(g.type, frozenset(by_id[m] for m in g.members)) for g in doc.groups},
        )

    assert content(before) == content(after)


@pytest.mark.parametrize(
    ("ann", "message"),
    [
        (_ann("T1\tCondition 12 999\ttype"), "NCT0002_exc.ann:1:"),
        (_ann("T1\tCondition 12 27\ttype 2 diabetes", "R1\tHas_value Arg1:T1 Arg2:T9\t"), "NCT0002_exc.ann:2:"),
        (_ann("T1\tCondition 12 27\tsomething else"), "NCT0002_exc.ann:1:"),
        (_ann("T1\tCondition twelve 27\ttype"), "NCT0002_exc.ann:1:"),
        (_ann("T1 Condition 12 27 type 2 diabetes"), "NCT0002_exc.ann:1:"),
    ],
    ids=["offset-past-text", "missing-relation-end", "text-mismatch", "non-integer", "broken-line"],
)
def test_malformed_brat_upload_is_refused_whole(project, tmp_path, ann, message):
    write_pair(tmp_path, "NCT0001_inc", TEXT, good_ann())  # a good file in the same upload
    write_pair(tmp_path, "NCT0002_exc", TEXT, ann)
    with pytest.raises(ImportRefused) as err:
        corpus_import_path(project=project, path=tmp_path, fmt="brat")
    assert any(p.startswith(message) for p in err.value.problems), err.value.problems
    assert "nothing was saved" in err.value.message
    assert not Document.objects.exists() and not Mention.objects.exists()


def test_unknown_labels_refused_when_schema_is_closed(project, tmp_path):
    write_pair(tmp_path, "NCT0003_inc", "Pregnant women\n", _ann("T1\tPerson 9 14\twomen", "T2\tFoo 0 8\tPregnant"))
    with pytest.raises(ImportRefused) as err:
        corpus_import_path(project=project, path=tmp_path, fmt="brat")
    assert any("'Person' is not in the project's schema" in p for p in err.value.problems)
    assert any("'Foo'" in p for p in err.value.problems)
    assert not Document.objects.exists()


def test_unknown_labels_extend_an_open_schema(members, tmp_path):
    open_project = project_create(name="open", created_by=members["admin"])
    write_pair(tmp_path, "NCT0003_inc", "Pregnant women\n", _ann("T1\tPerson 9 14\twomen"))
    corpus_import_path(project=open_project, path=tmp_path, fmt="brat")
    assert list(EntityType.objects.filter(project=open_project).values_list("name", flat=True)) == ["Person"]


def test_relation_type_constraints_are_checked(project, tmp_path):
    write_pair(tmp_path, "NCT0004_inc", "Aspirin 100 mg\n",
               _ann("T1\tDrug 0 7\tAspirin", "T2\tDrug 8 14\t100 mg", "R1\tHas_value Arg1:T1 Arg2:T2\t"))
    with pytest.raises(ImportRefused) as err:
        corpus_import_path(project=project, path=tmp_path, fmt="brat")
    assert any("head type Drug is not allowed" in p for p in err.value.problems)
    assert any("tail type Drug is not allowed" in p for p in err.value.problems)


def test_annotations_crossing_lines_merge_their_sentences():
    text = "Line one\nline two\nline three"
    doc = formats.CDocument(
        external_id="d", text=text,
        mentions=[formats.CMention("T1", "Condition", [(5, 13)]), formats.CMention("T2", "Condition", [(19, 23)])],
        sentences=[formats.CSentence(0, 8), formats.CSentence(9, 17), formats.CSentence(18, 28)],
    )
    assert layout_sentences(doc) == [(0, 17), (18, 28)]


def test_second_import_as_annotator_attaches_to_existing_documents(project, members, tmp_path):
    write_pair(tmp_path / "gold", "NCT0001_inc", TEXT, good_ann())
    write_pair(tmp_path / "ann", "NCT0001_inc", TEXT, _ann("T1\tCondition 12 27\ttype 2 diabetes"))
    corpus_import_path(project=project, path=tmp_path / "gold", fmt="brat")
    from annotation.models import Sentence

    # imported gold takes its sentences out of the annotation queue (the queue_done hint)
    assert {s.queue_done for s in Sentence.objects.filter(project=project, annotations__isnull=False)} == {True}
    summary = corpus_import_path(project=project, path=tmp_path / "ann", fmt="brat", as_gold=False,
                                 annotator=members["annotator"])
    assert summary["documents"] == 0 and summary["documents_extended"] == 1
    assert Annotation.objects.filter(annotator=members["annotator"], status="submitted").count() == 1
    # The same layer twice is refused, not duplicated.
    with pytest.raises(ImportRefused):
        corpus_import_path(project=project, path=tmp_path / "ann", fmt="brat", as_gold=False,
                           annotator=members["annotator"])
    # A different text under the same id is refused.
    write_pair(tmp_path / "changed", "NCT0001_inc", TEXT.upper(), "")
    with pytest.raises(ImportRefused, match="exists with a different text"):
        corpus_import_path(project=project, path=tmp_path / "changed", fmt="brat")


def test_splits_are_assigned_per_trial_and_stable(project, tmp_path):
    for i in range(30):
        for section in ("inc", "exc"):
            write_pair(tmp_path, f"NCT{i:04d}_{section}", "Adults\n", "")
    corpus_import_path(project=project, path=tmp_path, fmt="brat")
    splits = {}
    for doc in Document.objects.all():
        splits.setdefault(doc.group_key, set()).add(doc.split)
    assert all(len(s) == 1 for s in splits.values())
    assert {next(iter(s)) for s in splits.values()} >= {"train", "dev"}


def test_spert_and_jsonl_and_text_imports(project, members, tmp_path):
    open_project = project_create(name="open", created_by=members["admin"])
    spert = [{"orig_id": "NCT9_inc:0", "tokens": ["HbA1c", ">", "7%"],
              "entities": [{"type": "Measurement", "start": 0, "end": 1}, {"type": "Value", "start": 1, "end": 3}],
              "relations": [{"type": "Has_value", "head": 0, "tail": 1}]}]
    (tmp_path / "s.json").write_text(json.dumps(spert), encoding="utf-8")
    corpus_import_path(project=open_project, path=tmp_path / "s.json", fmt="spert", split="dev")
    s = Sentence.objects.get(document__external_id="NCT9_inc")
    assert s.text == "HbA1c > 7%" and s.document.split == "dev"
    assert Relation.objects.filter(annotation__sentence=s).count() == 1
    line = {"id": 1, "text": "Pregnancy or lactation", "entities": [
        {"id": 1, "label": "Condition", "start_offset": 0, "end_offset": 9}], "relations": []}
    (tmp_path / "d.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    corpus_import_path(project=open_project, path=tmp_path / "d.jsonl", fmt="jsonl")
    assert Mention.objects.filter(entity_type__name="Condition").count() == 1
    (tmp_path / "c.txt").write_text("Inclusion Criteria:\n- Age ≥ 18\n- Signed consent\n", encoding="utf-8")
    corpus_import_path(project=open_project, path=tmp_path / "c.txt", fmt="text", text_mode="sections")
    texts = set(Sentence.objects.filter(document__section="inclusion").values_list("text", flat=True))
    assert any("Age ≥ 18" in t for t in texts) and any("Signed consent" in t for t in texts)


def test_exports_in_every_format(project, members, tmp_path):
    write_pair(tmp_path / "in", "NCT0001_inc", TEXT, good_ann())
    corpus_import_path(project=project, path=tmp_path / "in", fmt="brat")
    for fmt in ("spert", "conll", "jsonl"):
        manifest = corpus_export(project=project, fmt=fmt, out_dir=tmp_path / fmt, gold_only=True)
        assert manifest["layers"]["gold"]["mentions"] == 7
    sentences = json.loads((tmp_path / "spert" / "gold.json").read_text(encoding="utf-8"))
    assert len(sentences) == 3
    types = json.loads((tmp_path / "spert" / "types.json").read_text(encoding="utf-8"))
    assert types["relations"]["AND"]["symmetric"] is True
    assert "HbA1c\tB-Measurement" in (tmp_path / "conll" / "gold.conll").read_text(encoding="utf-8")
    reread = formats.read_jsonl(tmp_path / "jsonl" / "gold.jsonl")
    assert sum(len(d.mentions) for d in reread) == 7


def test_zip_upload_with_path_traversal_is_refused(project, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../etc/NCT1_inc.txt", "x\n")
        zf.writestr("../../etc/NCT1_inc.ann", "")
    with pytest.raises(ImportRefused):
        corpus_import_path(project=project, path=archive, fmt="brat")
    assert not Document.objects.exists()
