"""Corpus import: all-or-nothing, every problem reported with where it is."""

from __future__ import annotations

import bisect
import hashlib
import logging
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from annotation import formats
from annotation.errors import ImportRefused, InvalidInput
from annotation.models import (
    Annotation,
    AnnotationStatus,
    Document,
    EntityType,
    ImportJob,
    JobStatus,
    Mention,
    MentionGroup,
    Project,
    Relation,
    RelationType,
    Sentence,
    Split,
    split_group,
)

from .projects import _entity_type_create

logger = logging.getLogger(__name__)

FORMATS = ("brat", "spert", "jsonl", "text")
DEFAULT_SPLIT_RATIOS = {"train": 0.8, "dev": 0.1, "test": 0.1}


def layout_sentences(doc: formats.CDocument) -> list[tuple[int, int]]:
    """Sentence spans for ``doc`` such that every mention, relation and group lies inside one.

    Starts from the reader's sentences (one criterion per line for BRAT) and merges the few that
    an annotation crosses (Chia has mentions that cross a line or swallow a trailing ``\\r``), so
    nothing is lost and every stored offset stays sentence-relative.
    """
    spans = [(s.start, s.end) for s in doc.sentences if s.end > s.start]
    by_id = {m.id: m for m in doc.mentions}

    def cover(ids: list[str]) -> tuple[int, int] | None:
        frags = [f for i in ids if i in by_id for f in by_id[i].fragments]
        if not frags:
            return None
        return min(f[0] for f in frags), max(f[1] for f in frags)

    units = [cover([m.id]) for m in doc.mentions]
    units += [cover([r.head, r.tail]) for r in doc.relations]
    units += [cover(list(g.members)) for g in doc.groups]
    intervals = sorted(spans + [u for u in units if u is not None])
    merged: list[list[int]] = []
    for start, end in intervals:
        # Touching is not overlapping: two criteria on adjacent lines stay apart.
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged if e > s]


def _split_for(group: str, ratios: dict[str, float]) -> str:
    # Stable across runs and machines: the same trial always lands in the same split.
    digest = hashlib.sha256(group.encode("utf-8")).digest()
    x = int.from_bytes(digest[:8], "big") / 2**64
    acc = 0.0
    for name in (Split.TRAIN, Split.DEV, Split.TEST):
        acc += float(ratios.get(name, 0.0))
        if x < acc:
            return name
    return Split.TRAIN


def _where(doc: formats.CDocument) -> str:
    return doc.metadata.get("source_file") or doc.external_id


@transaction.atomic
def corpus_import(
    *,
    project: Project,
    documents: list[formats.CDocument],
    as_gold: bool = True,
    annotator: AbstractBaseUser | None = None,
    split: str | None = None,
) -> dict[str, Any]:
    """Store parsed documents and their annotations in ``project``, or nothing at all.

    Annotations become gold (``as_gold``) or ``annotator``'s submitted work. A document whose
    external id exists already gets the annotations attached when its text is identical, and is
    refused otherwise. ``split`` forces a split; by default it is drawn per group (trial).
    Raises ``ImportRefused`` listing every problem; returns counts.
    """
    if not as_gold and annotator is None:
        raise InvalidInput("An import that is not gold needs the annotator whose work it is.")
    if split is not None and split not in Split.values:
        raise InvalidInput(f"Unknown split {split!r}; expected one of {', '.join(Split.values)}.")
    if not documents:
        raise ImportRefused(["the upload holds no documents"])
    problems: list[str] = []
    seen_ids: dict[str, str] = {}
    for doc in documents:
        if doc.external_id in seen_ids:
            problems.append(f"{_where(doc)}: document id {doc.external_id} appears twice in this upload")
        seen_ids[doc.external_id] = _where(doc)

    # Labels: extend the schema or refuse, per the project's setting.
    entity_types = {et.name: et for et in EntityType.objects.filter(project=project)}
    relation_types = {
        rt.name: rt for rt in RelationType.objects.filter(project=project).prefetch_related(
            "allowed_heads", "allowed_tails")
    }
    new_entity_names: dict[str, str] = {}
    new_relation_names: dict[str, str] = {}
    for doc in documents:
        for m in doc.mentions:
            if m.type not in entity_types and m.type not in new_entity_names:
                new_entity_names[m.type] = f"{_where(doc)}: {m.id}"
        for r in doc.relations:
            if r.type not in relation_types and r.type not in new_relation_names:
                new_relation_names[r.type] = f"{_where(doc)}: {r.id}"
    if not project.allow_new_labels:
        problems += [f"{where}: entity type {name!r} is not in the project's schema"
                     for name, where in new_entity_names.items()]
        problems += [f"{where}: relation type {name!r} is not in the project's schema"
                     for name, where in new_relation_names.items()]

    # Relation-type constraints on argument types.
    allowed = {
        name: ({e.name for e in rt.allowed_heads.all()}, {e.name for e in rt.allowed_tails.all()})
        for name, rt in relation_types.items()
    }
    for doc in documents:
        types = {m.id: m.type for m in doc.mentions}
        for r in doc.relations:
            heads, tails = allowed.get(r.type, (set(), set()))
            if heads and types.get(r.head) not in heads:
                problems.append(f"{_where(doc)}: relation {r.id} {r.type}: head type {types.get(r.head)} "
                                f"is not allowed (allowed: {', '.join(sorted(heads))})")
            if tails and types.get(r.tail) not in tails:
                problems.append(f"{_where(doc)}: relation {r.id} {r.type}: tail type {types.get(r.tail)} "
                                f"is not allowed (allowed: {', '.join(sorted(tails))})")

    existing_docs = {
        d.external_id: d for d in Document.objects.filter(project=project, external_id__in=list(seen_ids))
    }
    existing_sentences: dict[int, list[Sentence]] = defaultdict(list)
    for s in Sentence.objects.filter(document__in=list(existing_docs.values())).order_by("document_id", "position"):
        existing_sentences[s.document_id].append(s)
    layer_user_id = None if as_gold else annotator.pk  # type: ignore[union-attr]
    taken = set(
        Annotation.objects.filter(sentence__document__in=list(existing_docs.values()),
                                  annotator_id=layer_user_id).values_list("sentence_id", flat=True)
    )

    plans = []
    for doc in documents:
        old = existing_docs.get(doc.external_id)
        if old is not None:
            if old.text != doc.text:
                problems.append(f"{_where(doc)}: document {doc.external_id} exists with a different text")
                continue
            spans = [(s.start, s.end) for s in existing_sentences[old.pk]]
        else:
            spans = layout_sentences(doc)
        plan = _plan_document(doc, spans, problems)
        if old is not None:
            for idx in plan["sentences_with_annotations"]:
                sent = existing_sentences[old.pk][idx]
                if sent.pk in taken:
                    problems.append(f"{_where(doc)}: sentence {idx} of {doc.external_id} already has "
                                    f"{'gold' if as_gold else 'this annotator' + chr(39) + 's'} annotations")
            plan["existing"] = old
            plan["existing_sentences"] = existing_sentences[old.pk]
        plans.append(plan)
    if problems:
        raise ImportRefused(problems)

    for name in new_entity_names:
        entity_types[name] = _entity_type_create(project=project, name=name)
    for name in new_relation_names:
        rt = RelationType(project=project, name=name, position=len(relation_types))
        rt.full_clean()
        rt.save()
        relation_types[name] = rt
    return _write(project, plans, entity_types, relation_types, layer_user_id, split)


def _plan_document(doc: formats.CDocument, spans: list[tuple[int, int]], problems: list[str]) -> dict[str, Any]:
    """Map the document's annotations onto sentences (sentence-relative offsets), merging duplicates."""
    starts = [s for s, _ in spans]
    def sentence_of(frags: list[tuple[int, int]]) -> int | None:
        lo = min(f[0] for f in frags)
        hi = max(f[1] for f in frags)
        i = bisect.bisect_right(starts, lo) - 1
        if i >= 0 and spans[i][0] <= lo and hi <= spans[i][1]:
            return i
        return None

    mentions: dict[str, tuple[int, tuple[tuple[int, int], ...], str]] = {}
    canonical: dict[tuple[int, str, tuple[tuple[int, int], ...]], str] = {}
    alias: dict[str, str] = {}
    duplicates = 0
    for m in doc.mentions:
        frags = tuple(sorted((int(s), int(e)) for s, e in m.fragments))
        idx = sentence_of(list(frags))
        if idx is None:
            problems.append(f"{_where(doc)}: mention {m.id} ({m.type} {frags}) does not lie within one sentence")
            continue
        base = spans[idx][0]
        rel = tuple((s - base, e - base) for s, e in frags)
        key = (idx, m.type, rel)
        if key in canonical:
            alias[m.id] = canonical[key]
            duplicates += 1
            continue
        canonical[key] = m.id
        alias[m.id] = m.id
        mentions[m.id] = (idx, rel, m.type)
    relations = []
    seen_rel = set()
    for r in doc.relations:
        h, t = alias.get(r.head), alias.get(r.tail)
        if h is None or t is None:
            continue  # the mention's own problem is reported already
        if mentions[h][0] != mentions[t][0]:
            problems.append(f"{_where(doc)}: relation {r.id} links mentions of different sentences")
            continue
        rel_key = (r.type, h, t)
        if rel_key in seen_rel:
            duplicates += 1
            continue
        seen_rel.add(rel_key)
        relations.append((r.id, r.type, h, t))
    groups = []
    for g in doc.groups:
        members = list(dict.fromkeys(alias[m] for m in g.members if m in alias))
        if not members:
            continue
        idxs = {mentions[m][0] for m in members}
        if len(idxs) > 1:
            problems.append(f"{_where(doc)}: group {g.type} {' '.join(g.members)} spans several sentences")
            continue
        groups.append((g.type, members))
    with_annotations = sorted({v[0] for v in mentions.values()})
    return {
        "doc": doc,
        "spans": spans,
        "mentions": mentions,
        "relations": relations,
        "groups": groups,
        "duplicates": duplicates,
        "sentences_with_annotations": with_annotations,
    }


def _write(
    project: Project,
    plans: list[dict[str, Any]],
    entity_types: dict[str, EntityType],
    relation_types: dict[str, RelationType],
    layer_user_id: int | None,
    forced_split: str | None,
) -> dict[str, Any]:
    ratios = project.split_ratios or DEFAULT_SPLIT_RATIOS
    group_splits = dict(
        Document.objects.filter(project=project).exclude(group_key="").values_list("group_key", "split")
    )
    new_docs = []
    for plan in plans:
        if "existing" in plan:
            continue
        doc = plan["doc"]
        group = split_group(doc.group_key, doc.external_id)
        doc_split = forced_split or group_splits.setdefault(group, _split_for(group, ratios))
        new_docs.append(Document(
            project=project, external_id=doc.external_id, group_key=doc.group_key, section=doc.section or "",
            text=doc.text, newline=doc.newline, metadata=_metadata_with_extras(doc), split=doc_split,
        ))
    Document.objects.bulk_create(new_docs, batch_size=500)
    it = iter(new_docs)
    new_sentences: list[Sentence] = []
    for plan in plans:
        if "existing" in plan:
            plan["sentence_rows"] = plan["existing_sentences"]
            continue
        row = next(it)
        plan["document_row"] = row
        plan["sentence_rows"] = [
            Sentence(project=project, document=row, position=i, start=s, end=e, text=plan["doc"].text[s:e])
            for i, (s, e) in enumerate(plan["spans"])
        ]
        new_sentences += plan["sentence_rows"]
    Sentence.objects.bulk_create(new_sentences, batch_size=1000)

    status = AnnotationStatus.GOLD if layer_user_id is None else AnnotationStatus.SUBMITTED
    annotations: list[Annotation] = []
    for plan in plans:
        plan["annotation_rows"] = {}
        for idx in plan["sentences_with_annotations"]:
            a = Annotation(sentence=plan["sentence_rows"][idx], annotator_id=layer_user_id, status=status,
                           updated_by_id=layer_user_id)
            plan["annotation_rows"][idx] = a
            annotations.append(a)
    Annotation.objects.bulk_create(annotations, batch_size=1000)
    if annotations:
        from .annotations import queue_refresh

        queue_refresh(project_id=project.pk)  # imported gold / submitted layers take sentences out of the queue

    mention_rows: list[Mention] = []
    for plan in plans:
        plan["mention_rows"] = {}
        for mid, (idx, rel, type_name) in plan["mentions"].items():
            m = Mention(annotation=plan["annotation_rows"][idx], entity_type=entity_types[type_name],
                        fragments=[list(f) for f in rel], start=rel[0][0], end=max(f[1] for f in rel),
                        source_id=mid[:32])
            plan["mention_rows"][mid] = m
            mention_rows.append(m)
    Mention.objects.bulk_create(mention_rows, batch_size=2000)

    relation_rows: list[Relation] = []
    group_rows: list[MentionGroup] = []
    group_members: list[list[Mention]] = []
    for plan in plans:
        mrows = plan["mention_rows"]
        for rid, type_name, h, t in plan["relations"]:
            relation_rows.append(Relation(annotation=mrows[h].annotation, relation_type=relation_types[type_name],
                                          head=mrows[h], tail=mrows[t], source_id=rid[:32]))
        for pos, (gtype, members) in enumerate(plan["groups"]):
            group_rows.append(MentionGroup(annotation=mrows[members[0]].annotation, group_type=gtype,
                                           position=pos))
            group_members.append([mrows[m] for m in members])
    Relation.objects.bulk_create(relation_rows, batch_size=2000)
    MentionGroup.objects.bulk_create(group_rows, batch_size=2000)
    through = MentionGroup.members.through
    through.objects.bulk_create(
        [through(mentiongroup_id=g.pk, mention_id=m.pk) for g, ms in zip(group_rows, group_members, strict=True)
         for m in ms],
        batch_size=5000,
    )
    return {
        "documents": len(new_docs),
        "documents_extended": sum(1 for p in plans if "existing" in p),
        "sentences": len(new_sentences),
        "annotations": len(annotations),
        "mentions": len(mention_rows),
        "relations": len(relation_rows),
        "groups": len(group_rows),
        "duplicates_merged": sum(p["duplicates"] for p in plans),
    }


def _metadata_with_extras(doc: formats.CDocument) -> dict[str, Any]:
    # BRAT A/N/# lines annotate annotations; they ride along in the document's metadata so a BRAT
    # export gives them back (see corpus_export.BRAT_EXTRAS_KEY).
    meta = dict(doc.metadata)
    extras = {
        "attributes": [asdict(a) for a in doc.attributes],
        "normalizations": [asdict(n) for n in doc.normalizations],
        "notes": [asdict(n) for n in doc.notes],
    }
    if any(extras.values()):
        meta["brat_extras"] = extras
    return meta


def read_corpus(path: Path, fmt: str, *, text_mode: str = "lines") -> list[formats.CDocument]:
    """Parse a file or folder with the named reader; raise ``ImportRefused`` with every problem."""
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    limits = {
        "max_bytes": settings.TRIALMARK_MAX_UPLOAD_MB * 1024 * 1024,
        "max_files": settings.TRIALMARK_MAX_UPLOAD_FILES,
    }
    try:
        if fmt == "brat":
            return formats.read_brat(path, **limits)
        if fmt == "spert":
            return formats.read_spert(path)[0]
        if fmt == "jsonl":
            return formats.read_jsonl(path)
        return formats.read_text(path, mode=text_mode)
    except formats.FormatError as exc:
        raise ImportRefused([str(p) for p in exc.problems]) from exc


def corpus_import_path(
    *,
    project: Project,
    path: Path,
    fmt: str,
    as_gold: bool = True,
    annotator: AbstractBaseUser | None = None,
    split: str | None = None,
    text_mode: str = "lines",
) -> dict[str, Any]:
    """Read ``path`` (file, folder or zip) in format ``fmt`` and import it all-or-nothing."""
    documents = read_corpus(Path(path), fmt, text_mode=text_mode)
    return corpus_import(project=project, documents=documents, as_gold=as_gold, annotator=annotator, split=split)


@transaction.atomic
def import_job_create(
    *, project: Project, user: AbstractBaseUser, upload: UploadedFile, fmt: str, options: dict[str, Any]
) -> ImportJob:
    """Store an upload and queue its import; the worker runs ``import_job_run``."""
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    limit = settings.TRIALMARK_MAX_UPLOAD_MB * 1024 * 1024
    if upload.size is not None and upload.size > limit:
        raise InvalidInput(f"{upload.name}: {upload.size} bytes is over the upload limit of "
                           f"{settings.TRIALMARK_MAX_UPLOAD_MB} MB.")
    job = ImportJob(project=project, created_by=user, format=fmt, options=options)
    job.upload.save(Path(upload.name or "upload").name, upload, save=False)
    job.save()
    from worker.tasks import import_corpus_task

    transaction.on_commit(lambda: import_corpus_task.delay(job.pk))
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued import. Idempotent: a job that already finished is left as it is."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update(of=("self",)).select_related("project", "created_by").get(
            pk=job_id
        )
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return job
        job.status = JobStatus.RUNNING
        job.save(update_fields=["status"])
    opts = job.options
    try:
        summary = corpus_import_path(
            project=job.project,
            path=Path(job.upload.path),
            fmt=job.format,
            as_gold=opts.get("as_gold", True),
            annotator=None if opts.get("as_gold", True) else job.created_by,
            split=opts.get("split"),
            text_mode=opts.get("text_mode", "lines"),
        )
    except (ImportRefused, InvalidInput) as exc:
        job.status = JobStatus.FAILED
        job.problems = exc.details if isinstance(exc.details, list) else [exc.message]
    except Exception as exc:  # a bug must still leave the job in a final state the user can see
        logger.exception("import job %s failed", job.pk)
        job.status = JobStatus.FAILED
        job.problems = [f"internal error: {exc}"]
    else:
        job.status = JobStatus.SUCCEEDED
        job.summary = summary
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "problems", "summary", "finished_at"])
    return job
