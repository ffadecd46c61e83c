"""All 811 Chia trials: import, export BRAT, and find no difference (runs against PostgreSQL in CI)."""

from __future__ import annotations

from collections import Counter

import pytest

from annotation import formats
from annotation.services import corpus_export, corpus_import_path, project_create

pytestmark = [pytest.mark.django_db, pytest.mark.corpus, pytest.mark.slow]


def _content(doc: formats.CDocument) -> tuple[Counter, Counter, Counter]:
    by_id = {m.id: (m.type, tuple(tuple(f) for f in m.fragments)) for m in doc.mentions}
    # Exact duplicate mentions (same type and fragments) are stored once: compare as sets of
    # distinct mentions, relations and groups in terms of those mentions.
    mentions = Counter(set(by_id.values()))
    relations = Counter({(r.type, by_id[r.head], by_id[r.tail]) for r in doc.relations})
    groups = Counter({(g.type, frozenset(by_id[m] for m in g.members)) for g in doc.groups})
    return mentions, relations, groups


def test_chia_brat_round_trip_is_lossless(corpora, tmp_path, members):
    source = corpora / "chia"
    project = project_create(name="Chia", created_by=members["admin"])
    summary = corpus_import_path(project=project, path=source, fmt="brat")
    assert summary["documents"] == 1622
    corpus_export(project=project, fmt="brat", out_dir=tmp_path, gold_only=True)

    before = {d.external_id: d for d in formats.read_brat(source)}
    after = {d.external_id: d for d in formats.read_brat(tmp_path)}
    assert before.keys() == after.keys()
    differences = []
    for doc_id, doc in before.items():
        if doc.text != after[doc_id].text:
            differences.append(f"{doc_id}: text differs")
        if _content(doc) != _content(after[doc_id]):
            differences.append(f"{doc_id}: annotations differ")
    assert differences == []
    for doc_id in before:
        assert (source / f"{doc_id}.txt").read_bytes() == (tmp_path / f"{doc_id}.txt").read_bytes()
