"""Writing one sentence's annotation, with optimistic concurrency."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotation.errors import InvalidInput, VersionConflict
from annotation.models import (
    Annotation,
    AnnotationStatus,
    EntityType,
    Mention,
    MentionGroup,
    Project,
    QueueReservation,
    Relation,
    RelationType,
    Sentence,
)
from annotation.selectors import annotation_state, annotation_state_of, queue_next_candidate


def mention_input_validate(
    *, text: str, mentions: list[dict[str, Any]], entity_types: dict[str, EntityType]
) -> list[tuple[str, EntityType, list[list[int]]]]:
    """Check mention input against the sentence text; return (client id, type, sorted fragments)."""
    out = []
    seen: dict[tuple[str, tuple[tuple[int, ...], ...]], str] = {}
    ids: set[str] = set()
    for i, m in enumerate(mentions):
        where = f"mentions[{i}]"
        mid = str(m.get("id", i))
        if mid in ids:
            raise InvalidInput(f"{where}: id {mid} is used twice.")
        ids.add(mid)
        et = entity_types.get(m.get("type", ""))
        if et is None:
            raise InvalidInput(f"{where}: unknown entity type {m.get('type')!r}.")
        frags = m.get("fragments")
        if not isinstance(frags, list) or not frags:
            raise InvalidInput(f"{where}: fragments must be a non-empty list of [start, end] pairs.")
        clean: list[list[int]] = []
        for f in frags:
            if not (isinstance(f, list | tuple) and len(f) == 2 and all(isinstance(x, int) for x in f)):
                raise InvalidInput(f"{where}: fragment {f!r} is not a [start, end] pair of integers.")
            s, e = f
            if not 0 <= s < e <= len(text):
                raise InvalidInput(f"{where}: fragment [{s}, {e}) is outside the sentence (length {len(text)}) "
                                   "or empty.")
            clean.append([s, e])
        clean.sort()
        for a, b in zip(clean, clean[1:], strict=False):
            if b[0] < a[1]:
                raise InvalidInput(f"{where}: fragments {a} and {b} overlap.")
        key = (et.name, tuple(tuple(f) for f in clean))
        if key in seen:
            raise InvalidInput(f"{where}: duplicates mention {seen[key]} (same type and fragments).")
        seen[key] = mid
        out.append((mid, et, clean))
    return out


@transaction.atomic
def annotation_save(
    *,
    sentence: Sentence,
    actor: AbstractBaseUser,
    gold: bool = False,
    version: int,
    mentions: list[dict[str, Any]],
    relations: list[dict[str, Any]] | None = None,
    groups: list[dict[str, Any]] | None = None,
    status: str = AnnotationStatus.DRAFT,
    client_id: str = "",
    client_seq: int = 0,
) -> Annotation:
    """Replace the actor's (or, with ``gold``, the gold) annotation of ``sentence``.

    ``version`` is the version the client edited (0 for a sentence it never saved). A stale version
    raises ``VersionConflict`` carrying the current state: nothing is overwritten silently.
    Mentions are ``{"id", "type", "fragments": [[start, end], ...]}`` in sentence offsets; relations
    and groups name mentions by those ids.

    One exception, for an editor page's own saves racing each other (the keepalive a page sends as it
    closes while its last autosave is still in flight): ``client_id`` names the page and ``client_seq``
    numbers its states. A stale write from the page that wrote every version since ``version`` is
    applied when its state is newer than the one saved (``client_seq`` higher), and is a no-op returning
    the current annotation when it is not; anyone else's stale write still conflicts.
    """
    relations = relations or []
    groups = groups or []
    annotator = None if gold else actor
    if gold:
        status = AnnotationStatus.GOLD
    elif status not in (AnnotationStatus.DRAFT, AnnotationStatus.SUBMITTED):
        raise InvalidInput(f"Unknown status {status!r}; expected draft or submitted.")
    project_id = sentence.project_id
    entity_types = {et.name: et for et in EntityType.objects.filter(project_id=project_id)}
    relation_types = {
        rt.name: rt
        for rt in RelationType.objects.filter(project_id=project_id).prefetch_related("allowed_heads", "allowed_tails")
    } if relations else {}
    parsed = mention_input_validate(text=sentence.text, mentions=mentions, entity_types=entity_types)
    by_id = {mid: (et, frags) for mid, et, frags in parsed}
    rel_rows: list[tuple[RelationType, str, str]] = []
    seen_rel: set[tuple[str, str, str]] = set()
    for i, r in enumerate(relations):
        where = f"relations[{i}]"
        rt = relation_types.get(r.get("type", ""))
        if rt is None:
            raise InvalidInput(f"{where}: unknown relation type {r.get('type')!r}.")
        head, tail = str(r.get("head")), str(r.get("tail"))
        if head not in by_id or tail not in by_id:
            raise InvalidInput(f"{where}: head and tail must name mentions of this annotation.")
        heads = {e.name for e in rt.allowed_heads.all()}
        tails = {e.name for e in rt.allowed_tails.all()}
        if heads and by_id[head][0].name not in heads:
            raise InvalidInput(f"{where}: {rt.name} does not take a {by_id[head][0].name} head.")
        if tails and by_id[tail][0].name not in tails:
            raise InvalidInput(f"{where}: {rt.name} does not take a {by_id[tail][0].name} tail.")
        key = (rt.name, *sorted((head, tail))) if rt.symmetric else (rt.name, head, tail)
        if key in seen_rel:
            raise InvalidInput(f"{where}: duplicates another relation.")
        seen_rel.add(key)
        rel_rows.append((rt, head, tail))
    for i, g in enumerate(groups):
        members = [str(m) for m in g.get("members", [])]
        if len(members) < 2 or any(m not in by_id for m in members):
            raise InvalidInput(f"groups[{i}]: a group needs two or more mentions of this annotation.")

    annotation = (
        Annotation.objects.select_for_update()
        .filter(sentence=sentence, annotator=annotator)
        .first()
    )
    created = False
    if annotation is None:
        if version != 0:
            raise VersionConflict("This annotation no longer exists; reload it.", details=None)
        try:
            with transaction.atomic():
                annotation = Annotation.objects.create(
                    sentence=sentence, annotator=annotator, status=status, version=1, updated_by=actor,
                    client_id=client_id, client_seq=client_seq, client_base_version=0,
                )
            created = True
        except IntegrityError:
            annotation = Annotation.objects.select_for_update().get(sentence=sentence, annotator=annotator)
    was_submitted = not created and annotation.status == AnnotationStatus.SUBMITTED
    if not created:
        race = _same_page_race(annotation, version=version, client_id=client_id, client_seq=client_seq)
        if race == "older":
            return annotation  # this page already saved a newer state
        if annotation.version != version and race != "newer":
            message = (f"You edited version {version}, but version {annotation.version} was saved in the meantime."
                       if version else "Someone saved this annotation first.")
            raise VersionConflict(message, details=annotation_state(annotation=annotation))
        if not (client_id and annotation.client_id == client_id):
            annotation.client_base_version = annotation.version  # a new run of writes starts here
        annotation.client_id, annotation.client_seq = client_id, client_seq
        annotation.version += 1
        annotation.status = status
        annotation.updated_by = actor
        annotation.save(update_fields=["version", "status", "updated_by", "updated_at", "client_id",
                                       "client_seq", "client_base_version"])
        _delete_items(annotation.pk)

    rows = {
        mid: Mention(annotation=annotation, entity_type=et, fragments=frags, start=frags[0][0], end=frags[-1][1],
                     source_id=mid[:32] if not mid.isdigit() else "")
        for mid, et, frags in parsed
    }
    Mention.objects.bulk_create(list(rows.values()))
    written_rels = Relation.objects.bulk_create(
        [Relation(annotation=annotation, relation_type=rt, head=rows[h], tail=rows[t]) for rt, h, t in rel_rows]
    )
    written_groups = []
    for pos, g in enumerate(groups):
        group = MentionGroup.objects.create(annotation=annotation, group_type=g.get("type", "OR"), position=pos)
        member_rows = list({str(m): rows[str(m)] for m in g["members"]}.values())  # a repeated id counts once
        group.members.set(member_rows)
        written_groups.append((group.pk, group.group_type, [m.pk for m in member_rows]))
    if was_submitted or status != AnnotationStatus.DRAFT:
        queue_refresh(project_id=project_id, sentence_ids=[sentence.pk])
    # What was just written, as annotation_state would read it back (test_written_state_is_what_a_read_returns),
    # so the API answers a save without re-reading it.
    annotation.written_state = annotation_state_of(
        annotation=annotation, text=sentence.text, annotator=None if gold else actor.get_username(),
        mentions=[(m.pk, m.entity_type.name, m.fragments) for m in rows.values()],
        relations=[(r.pk, r.relation_type.name, r.head_id, r.tail_id) for r in written_rels],
        groups=written_groups,
    )
    return annotation


def _table(model: Any) -> str:
    """The model's table name, quoted for raw SQL."""
    return connection.ops.quote_name(model._meta.db_table)


def _columns(model: Any, *fields: str) -> tuple[str, ...]:
    """The columns of the model's ``fields``, quoted for raw SQL."""
    return tuple(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)


def _delete_items(annotation_id: int) -> None:
    """Delete an annotation's relations, group links, groups and mentions: one statement each. The
    ORM's cascade collector first selects every mention and group and then deletes by id lists (9
    queries on each save that replaces an annotation); nothing else references these rows and no
    delete signals are connected to them."""
    through = MentionGroup.members.through
    (rel_ann,), (link_group,), (group_ann,), (mention_ann,) = (
        _columns(Relation, "annotation"), _columns(through, "mentiongroup"),
        _columns(MentionGroup, "annotation"), _columns(Mention, "annotation"),
    )
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {_table(Relation)} WHERE {rel_ann} = %s", [annotation_id])
        cur.execute(
            f"DELETE FROM {_table(through)} WHERE {link_group} IN "
            f"(SELECT id FROM {_table(MentionGroup)} WHERE {group_ann} = %s)",
            [annotation_id],
        )
        cur.execute(f"DELETE FROM {_table(MentionGroup)} WHERE {group_ann} = %s", [annotation_id])
        cur.execute(f"DELETE FROM {_table(Mention)} WHERE {mention_ann} = %s", [annotation_id])


def _same_page_race(annotation: Annotation, *, version: int, client_id: str, client_seq: int) -> str | None:
    """For a stale write: "newer" or "older" when the writing page (``client_id``) wrote every version
    after ``version`` itself and its state is newer / not newer than the saved one; None otherwise."""
    if annotation.version == version or not client_id or annotation.client_id != client_id:
        return None
    if not annotation.client_base_version <= version < annotation.version:
        return None
    return "newer" if client_seq > annotation.client_seq else "older"


@transaction.atomic
def annotation_submit(*, sentence: Sentence, actor: AbstractBaseUser, version: int) -> Annotation:
    """Mark the actor's annotation of ``sentence`` as submitted (creating an empty one if needed)."""
    annotation = Annotation.objects.select_for_update().filter(sentence=sentence, annotator=actor).first()
    if annotation is None:
        return annotation_save(sentence=sentence, actor=actor, version=version, mentions=[],
                               status=AnnotationStatus.SUBMITTED)
    if annotation.version != version:
        raise VersionConflict(
            f"You edited version {version}, but version {annotation.version} was saved in the meantime.",
            details=annotation_state(annotation=annotation),
        )
    annotation.status = AnnotationStatus.SUBMITTED
    annotation.version += 1
    annotation.updated_by = actor
    annotation.client_id = ""  # a later stale save from the editor page conflicts again
    annotation.save(update_fields=["status", "version", "updated_by", "updated_at", "client_id"])
    queue_refresh(project_id=sentence.project_id, sentence_ids=[sentence.pk])
    return annotation


def queue_refresh(*, project_id: int, sentence_ids: list[int] | None = None) -> int:
    """Correct ``Sentence.queue_done`` (gold, or the project's number of submitted annotations) for the
    given sentences of the project, or for all of them. Rows already right are not written (no row lock,
    so annotators saving the same sentence at once do not queue behind each other's transactions);
    returns the number of sentences whose hint changed.

    Plain SQL: a save calls this for its own sentence, and building the same statement from ORM
    expressions cost more time than running it."""
    sentence, annotation, project = _table(Sentence), _table(Annotation), _table(Project)
    s_id, s_project, s_done = _columns(Sentence, "id", "project", "queue_done")
    a_sentence, a_annotator, a_status = _columns(Annotation, "sentence", "annotator", "status")
    (wanted,) = _columns(Project, "annotators_per_sentence")
    done = (
        f"(EXISTS (SELECT 1 FROM {annotation} a WHERE a.{a_sentence} = {sentence}.{s_id} AND a.{a_annotator} IS NULL)"
        f" OR (SELECT COUNT(*) FROM {annotation} a WHERE a.{a_sentence} = {sentence}.{s_id}"
        f" AND a.{a_status} = %s) >= (SELECT p.{wanted} FROM {project} p WHERE p.id = {sentence}.{s_project}))"
    )
    sql = f"UPDATE {sentence} SET {s_done} = {done} WHERE {s_project} = %s AND {s_done} <> {done}"
    submitted = str(AnnotationStatus.SUBMITTED)
    changed = 0
    with connection.cursor() as cur:
        if sentence_ids is None:
            cur.execute(sql, [submitted, project_id, submitted])
            return cur.rowcount
        for i in range(0, len(sentence_ids), 500):  # SQLite's limit on parameters per statement
            ids = sentence_ids[i : i + 500]
            cur.execute(f"{sql} AND {s_id} IN ({', '.join(['%s'] * len(ids))})", [submitted, project_id, submitted, *ids])
            changed += cur.rowcount
    return changed


def queue_reserve(*, project: Project, user: AbstractBaseUser, sentence_id: int) -> bool:
    """Reserve ``sentence_id`` for ``user`` (moving their reservation in the project there) unless that
    would hand it to more annotators than the project wants: live reservations of other users who have
    not submitted it, plus submitted annotations of others, must stay under ``annotators_per_sentence``.
    Returns whether the reservation was made; with reservations off (``TRIALMARK_QUEUE_RESERVE_MINUTES``
    0) it is always True and nothing is written.

    Two annotators asking at the same moment must not both get the last free place: on PostgreSQL the
    sentence row is locked first, so the second one's check runs after the first one's write has
    committed; SQLite runs the check and the write as one statement under its single writer lock.
    """
    minutes = settings.TRIALMARK_QUEUE_RESERVE_MINUTES
    if minutes <= 0:
        return True
    now = timezone.now()
    ops = connection.ops
    res, ann, sent = _table(QueueReservation), _table(Annotation), _table(Sentence)
    (s_id,) = _columns(Sentence, "id")
    r_project, r_user, r_sentence, r_expires = _columns(QueueReservation, "project", "user", "sentence", "expires_at")
    a_sentence, a_annotator, a_status = _columns(Annotation, "sentence", "annotator", "status")
    params = {
        "p": project.pk,
        "u": user.pk,
        "s": sentence_id,
        "now": ops.adapt_datetimefield_value(now),
        "exp": ops.adapt_datetimefield_value(now + timedelta(minutes=minutes)),
        "submitted": str(AnnotationStatus.SUBMITTED),
        "wanted": project.annotators_per_sentence,
    }
    held = (
        f"(SELECT COUNT(*) FROM {res} r WHERE r.{r_sentence} = %(s)s AND r.{r_user} <> %(u)s"
        f" AND r.{r_expires} > %(now)s AND NOT EXISTS (SELECT 1 FROM {ann} a WHERE a.{a_sentence} = r.{r_sentence}"
        f" AND a.{a_annotator} = r.{r_user} AND a.{a_status} = %(submitted)s))"
        f" + (SELECT COUNT(*) FROM {ann} a WHERE a.{a_sentence} = %(s)s AND a.{a_status} = %(submitted)s"
        f" AND a.{a_annotator} <> %(u)s)"
    )
    sql = (
        f"INSERT INTO {res} ({r_project}, {r_user}, {r_sentence}, {r_expires})"
        f" SELECT %(p)s, %(u)s, %(s)s, %(exp)s WHERE {held} < %(wanted)s"
        f" ON CONFLICT ({r_project}, {r_user}) DO UPDATE SET {r_sentence} = excluded.{r_sentence},"
        f" {r_expires} = excluded.{r_expires}"
    )
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"SELECT 1 FROM {sent} WHERE {s_id} = %(s)s FOR UPDATE", params)
        cur.execute(sql, params)
        return cur.rowcount == 1


def queue_release(*, project: Project, user: AbstractBaseUser) -> None:
    """Drop the user's reservation in the project (their queue had nothing more for them)."""
    QueueReservation.objects.filter(project=project, user=user).delete()


def next_sentence_for(
    *, project: Project, user: AbstractBaseUser, seed: int | None = None, exclude: Collection[int] = (),
) -> Sentence | None:
    """The next sentence of the user's queue: an unfinished draft of theirs first, then the
    project's strategy. Strategies that rank by model uncertainty fall back to document order
    while no model has scored the sentences. ``exclude``: sentence ids the user skipped for now.

    The sentence returned is reserved for the user (``queue_reserve``), so annotators asking
    at the same time get different sentences while the project wants one annotation of each; a
    sentence someone else reserved first is passed over for the next candidate."""
    draft = (
        Sentence.objects.filter(project=project, annotations__annotator=user,
                                annotations__status=AnnotationStatus.DRAFT)
        .exclude(pk__in=list(exclude)).select_related("document").order_by("pk").first()
    )
    if draft is not None:
        # Their own work comes back to them even if the reservation has lapsed and someone else holds it.
        queue_reserve(project=project, user=user, sentence_id=draft.pk)
        return draft
    passed = set(exclude)
    refreshed = False
    while True:
        found = queue_next_candidate(project=project, user=user, seed=seed, exclude=passed)
        if found is None:
            # Before saying the queue is empty, correct the queue_done hints: a sentence taken out of the
            # queue may have come back without its hint being refreshed (its annotations deleted with a user).
            if refreshed or not queue_refresh(project_id=project.pk):
                queue_release(project=project, user=user)  # nothing is held for someone given nothing
                return None
            refreshed = True
            continue
        if queue_reserve(project=project, user=user, sentence_id=found.pk):
            return found
        passed.add(found.pk)  # taken by another annotator between the query and the reservation
