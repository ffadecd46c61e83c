"""Corpus export: gold (or every annotator's work) back to the field's formats."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model

from annotation import formats
from annotation.errors import InvalidInput
from annotation.models import (
    Annotation,
    Document,
    Mention,
    MentionGroup,
    ModelStatus,
    ModelVersion,
    Project,
    Relation,
    Sentence,
    SentencePrediction,
    Split,
)

from .projects import schema_as_dict

EXPORT_FORMATS = ("brat", "spert", "conll", "jsonl")
# Sentence-level formats carry only sentences that the layer annotated: an unannotated sentence
# would otherwise read as "no entities here" to whoever trains on the file.
SENTENCE_LEVEL = ("spert", "conll")


BRAT_EXTRAS_KEY = "brat_extras"


def _brat_extras_restore(
    extras: dict[str, list[dict[str, Any]]] | None, ids: set[str]
) -> tuple[list[formats.CAttribute], list[formats.CNormalization], list[formats.CNote]]:
    """BRAT attribute, normalization and note lines kept from the import, for targets that still exist."""
    if not extras:
        return [], [], []
    return (
        [formats.CAttribute(**a) for a in extras.get("attributes", []) if a["target"] in ids],
        [formats.CNormalization(**n) for n in extras.get("normalizations", []) if n["target"] in ids],
        [formats.CNote(**n) for n in extras.get("notes", []) if n["target"] in ids],
    )


def _layers(project: Project, gold_only: bool) -> list[tuple[str, int | None]]:
    layers: list[tuple[str, int | None]] = [("gold", None)]
    if not gold_only:
        user_ids = (
            Annotation.objects.filter(sentence__project=project, annotator__isnull=False)
            .values_list("annotator_id", flat=True).distinct()
        )
        users = get_user_model().objects.filter(pk__in=list(user_ids)).order_by("username")
        layers += [(f"annotator-{u.get_username()}", u.pk) for u in users]
    return layers


def build_documents(
    *, project: Project, annotator_id: int | None, split: str | None = None, only_annotated_sentences: bool = False
) -> list[formats.CDocument]:
    """The project's documents with one layer's annotations, in document offsets."""
    docs_qs = Document.objects.filter(project=project).order_by("external_id")
    if split:
        docs_qs = docs_qs.filter(split=split)
    docs = list(docs_qs.values("id", "external_id", "group_key", "section", "text", "newline", "metadata", "split"))
    sentences: dict[int, list[dict[str, Any]]] = defaultdict(list)
    sentence_start: dict[int, int] = {}
    for s in Sentence.objects.filter(project=project).order_by("document_id", "position").values(
        "id", "document_id", "start", "end"
    ):
        sentences[s["document_id"]].append(s)
        sentence_start[s["id"]] = s["start"]
    layer = Annotation.objects.filter(sentence__project=project)
    layer = layer.filter(annotator__isnull=True) if annotator_id is None else layer.filter(annotator_id=annotator_id)
    ann_rows = list(layer.values("id", "sentence_id", "sentence__document_id"))
    ann_doc = {a["id"]: a["sentence__document_id"] for a in ann_rows}
    ann_sentence = {a["id"]: a["sentence_id"] for a in ann_rows}
    annotated_sentences = {a["sentence_id"] for a in ann_rows}
    ann_ids = list(ann_doc)

    mention_rows = list(
        Mention.objects.filter(annotation_id__in=ann_ids)
        .order_by("annotation_id", "start", "end", "id")
        .values("id", "annotation_id", "entity_type__name", "fragments", "source_id")
    )
    # Ids: keep the imported one (BRAT T12) where it is still unique in its document, else mint one.
    mention_ids: dict[int, str] = {}
    used: dict[int, set[str]] = defaultdict(set)
    for m in mention_rows:
        doc_id = ann_doc[m["annotation_id"]]
        if m["source_id"] and m["source_id"] not in used[doc_id]:
            used[doc_id].add(m["source_id"])
            mention_ids[m["id"]] = m["source_id"]
    counters: dict[int, int] = defaultdict(int)

    def fresh(doc_id: int, prefix: str) -> str:
        while True:
            counters[doc_id] += 1
            candidate = f"{prefix}{counters[doc_id]}"
            if candidate not in used[doc_id]:
                used[doc_id].add(candidate)
                return candidate

    mentions_by_doc: dict[int, list[formats.CMention]] = defaultdict(list)
    for m in mention_rows:
        doc_id = ann_doc[m["annotation_id"]]
        if m["id"] not in mention_ids:
            mention_ids[m["id"]] = fresh(doc_id, "T")
        base = sentence_start[ann_sentence[m["annotation_id"]]]
        mentions_by_doc[doc_id].append(formats.CMention(
            id=mention_ids[m["id"]], type=m["entity_type__name"],
            fragments=[(s + base, e + base) for s, e in m["fragments"]],
        ))
    relations_by_doc: dict[int, list[formats.CRelation]] = defaultdict(list)
    rel_pending = []
    for r in Relation.objects.filter(annotation_id__in=ann_ids).order_by("annotation_id", "id").values(
        "id", "annotation_id", "relation_type__name", "head_id", "tail_id", "source_id"
    ):
        doc_id = ann_doc[r["annotation_id"]]
        rel = formats.CRelation(id=r["source_id"], type=r["relation_type__name"],
                                head=mention_ids[r["head_id"]], tail=mention_ids[r["tail_id"]])
        if r["source_id"] and r["source_id"] not in used[doc_id]:
            used[doc_id].add(r["source_id"])
        else:
            rel_pending.append((doc_id, rel))
        relations_by_doc[doc_id].append(rel)
    for doc_id, rel in rel_pending:
        rel.id = fresh(doc_id, "R")
    groups_by_doc: dict[int, list[formats.CGroup]] = defaultdict(list)
    members: dict[int, list[int]] = defaultdict(list)
    through = MentionGroup.members.through
    for row in through.objects.filter(mentiongroup__annotation_id__in=ann_ids).order_by("id").values(
        "mentiongroup_id", "mention_id"
    ):
        members[row["mentiongroup_id"]].append(row["mention_id"])
    for g in MentionGroup.objects.filter(annotation_id__in=ann_ids).order_by("annotation_id", "position", "id").values(
        "id", "annotation_id", "group_type"
    ):
        groups_by_doc[ann_doc[g["annotation_id"]]].append(
            formats.CGroup(id="*", type=g["group_type"], members=[mention_ids[m] for m in members[g["id"]]])
        )

    result = []
    for d in docs:
        sents = sentences.get(d["id"], [])
        if only_annotated_sentences:
            sents = [s for s in sents if s["id"] in annotated_sentences]
            if not sents:
                continue
        meta = dict(d["metadata"] or {})
        extras = meta.pop(BRAT_EXTRAS_KEY, None)
        doc_mentions = mentions_by_doc.get(d["id"], [])
        attributes, normalizations, notes = _brat_extras_restore(
            extras if annotator_id is None else None, {m.id for m in doc_mentions}
            | {r.id for r in relations_by_doc.get(d["id"], [])},
        )
        result.append(formats.CDocument(
            external_id=d["external_id"], text=d["text"], mentions=mentions_by_doc.get(d["id"], []),
            relations=relations_by_doc.get(d["id"], []), groups=groups_by_doc.get(d["id"], []),
            sentences=[formats.CSentence(start=s["start"], end=s["end"]) for s in sents],
            group_key=d["group_key"], section=d["section"], metadata=meta, newline=d["newline"],
            attributes=attributes, normalizations=normalizations, notes=notes,
        ))
    return result


def build_prediction_documents(
    *, project: Project, version: ModelVersion, split: str | None = None, only_predicted_sentences: bool = False
) -> list[formats.CDocument]:
    """The project's documents with one model version's predictions (mentions and relations), in document
    offsets; mention ids ``T1``…, relation ids ``R1``… per document, in sentence order."""
    docs_qs = Document.objects.filter(project=project).order_by("external_id")
    if split:
        docs_qs = docs_qs.filter(split=split)
    preds = {
        p["sentence_id"]: p for p in SentencePrediction.objects.filter(
            model_version=version, sentence__project=project).values("sentence_id", "mentions", "relations")
    }
    sentences: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in Sentence.objects.filter(project=project).order_by("document_id", "position").values(
        "id", "document_id", "start", "end"
    ):
        sentences[s["document_id"]].append(s)
    result = []
    for d in docs_qs.values("id", "external_id", "group_key", "section", "text", "newline", "metadata"):
        sents = sentences.get(d["id"], [])
        if only_predicted_sentences:
            sents = [s for s in sents if s["id"] in preds]
            if not sents:
                continue
        mentions: list[formats.CMention] = []
        relations: list[formats.CRelation] = []
        for s in sents:
            p = preds.get(s["id"])
            if p is None:
                continue
            first = len(mentions)
            for m in p["mentions"]:
                mentions.append(formats.CMention(
                    id=f"T{len(mentions) + 1}", type=m["type"],
                    fragments=[(a + s["start"], b + s["start"]) for a, b in m["fragments"]]))
            for r in p["relations"]:
                relations.append(formats.CRelation(id=f"R{len(relations) + 1}", type=r["type"],
                                                   head=mentions[first + r["head"]].id,
                                                   tail=mentions[first + r["tail"]].id))
        meta = dict(d["metadata"] or {})
        meta.pop(BRAT_EXTRAS_KEY, None)
        result.append(formats.CDocument(
            external_id=d["external_id"], text=d["text"], mentions=mentions, relations=relations, groups=[],
            sentences=[formats.CSentence(start=s["start"], end=s["end"]) for s in sents],
            group_key=d["group_key"], section=d["section"], metadata=meta, newline=d["newline"],
        ))
    return result


def corpus_export(
    *,
    project: Project,
    fmt: str,
    out_dir: Path,
    split: str | None = None,
    gold_only: bool = True,
    discontinuous: str = "cover",
    nested: str = "outermost",
    predictions: ModelVersion | None = None,
    user: Any = None,
) -> dict[str, Any]:
    """Write the corpus to ``out_dir`` and return the manifest (also written as ``manifest.json``).

    Gold only: BRAT files go straight into ``out_dir``; other formats into ``gold.<ext>``. With every
    annotator, each layer gets its own sub-folder (BRAT) or file: ``gold``, ``annotator-<username>``.
    ``predictions`` adds a model version's predictions as one more layer, ``predictions-v<number>``
    (BRAT then always uses sub-folders).
    """
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}.")
    if split is not None and split not in Split.values:
        raise InvalidInput(f"Unknown split {split!r}; expected one of {', '.join(Split.values)}.")
    if predictions is not None and predictions.project_id != project.pk:
        raise InvalidInput("That model version belongs to another project.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    schema = schema_as_dict(project=project)
    counts: dict[str, dict[str, int]] = {}
    flat_brat = gold_only and predictions is None
    layers: list[tuple[str, int | None]] = list(_layers(project, gold_only))
    if predictions is not None:
        layers.append((f"predictions-v{predictions.number}", None))
    for name, annotator_id in layers:
        if predictions is not None and name.startswith("predictions-"):
            docs = build_prediction_documents(project=project, version=predictions, split=split,
                                              only_predicted_sentences=fmt in SENTENCE_LEVEL)
        else:
            docs = build_documents(project=project, annotator_id=annotator_id, split=split,
                                   only_annotated_sentences=fmt in SENTENCE_LEVEL)
        counts[name] = {
            "documents": len(docs),
            "mentions": sum(len(d.mentions) for d in docs),
            "relations": sum(len(d.relations) for d in docs),
            "groups": sum(len(d.groups) for d in docs),
        }
        if fmt == "brat":
            target = out_dir if flat_brat else out_dir / name
            formats.write_brat(docs, target)
        elif fmt == "spert":
            spert_schema = {
                "entities": [et["name"] for et in schema["entity_types"]],
                "relations": {rt["name"]: {"symmetric": rt["symmetric"]} for rt in schema["relation_types"]},
            }
            formats.write_spert(docs, out_dir / f"{name}.json", discontinuous=discontinuous,
                                types_path=out_dir / "types.json", schema=spert_schema)
        elif fmt == "conll":
            formats.write_conll(docs, out_dir / f"{name}.conll", nested=nested)
        else:
            formats.write_jsonl(docs, out_dir / f"{name}.jsonl")
    manifest = {
        "project": project.name,
        "format": fmt,
        "split": split,
        "gold_only": gold_only,
        "options": {"discontinuous": discontinuous, "nested": nested},
        "layers": counts,
        "schema": schema,
        "guideline_version": project.guideline_version,
        "model_version": (ModelVersion.objects.filter(project=project, status=ModelStatus.ACTIVE)
                          .values_list("number", flat=True).first()),
        "predictions_version": predictions.number if predictions is not None else None,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "exported_by": user.get_username() if user is not None else None,
    }
    if fmt != "brat" or not flat_brat:
        # A BRAT folder stays a plain BRAT folder (only .txt/.ann) so it imports again as is.
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


# Every entry of an export zip gets this time stamp and mode, so the same corpus zips to the same bytes
# (the UI export and ``manage.py export_corpus --zip`` can be compared byte for byte).
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o644


def zip_folder(folder: Path, zip_path: Path) -> None:
    """Zip every file under ``folder`` (paths relative to it, sorted) deterministically."""
    folder = Path(folder)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(file.relative_to(folder).as_posix(), date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ZIP_FILE_MODE << 16
            info.create_system = 3  # unix, whatever machine wrote it
            with file.open("rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def corpus_export_zip(
    *, project: Project, fmt: str, zip_path: Path | None = None, **options: Any
) -> tuple[Path, dict[str, Any]]:
    """Export into a zip file (a temporary one unless ``zip_path`` is given; the caller deletes it)."""
    workdir = Path(tempfile.mkdtemp(prefix="trialmark-export-"))
    try:
        manifest = corpus_export(project=project, fmt=fmt, out_dir=workdir / "export", **options)
        if zip_path is None:
            fd, zip_name = tempfile.mkstemp(prefix="trialmark-export-", suffix=".zip")
            os.close(fd)
            zip_path = Path(zip_name)
        zip_folder(workdir / "export", Path(zip_path))
        return Path(zip_path), manifest
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
