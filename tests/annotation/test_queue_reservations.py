"""The queue reserves what it hands out, so annotators working at the same time get different sentences."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from annotation import selectors, services
from annotation.models import Document, QueueReservation, Sentence
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _sentences(project, n: int, key: str = "NCT9_inc") -> list[Sentence]:
    doc = Document.objects.create(project=project, external_id=key, text="\n".join("abcdefghijklmnop"[:n]))
    return [
        Sentence.objects.create(
            project=project, document=doc, position=i, start=2 * i, end=2 * i + 1, text="abcdefghijklmnop"[i]
        )
        for i in range(n)
    ]


def _annotators(project, n: int) -> list:
    users = [UserFactory(username=f"coder{i}") for i in range(n)]
    for u in users:
        services.membership_set(project=project, user=u, role="annotator")
    return users


@pytest.fixture
def sequential(project):
    project.queue_strategy = "sequential"
    project.save()
    return project


def nxt(project, user, **kw):
    return services.next_sentence_for(project=project, user=user, **kw)


def test_queue_reservations_give_concurrent_annotators_different_sentences(sequential):
    s = _sentences(sequential, 4)
    a, b, c = _annotators(sequential, 3)
    assert nxt(sequential, a) == s[0]
    assert nxt(sequential, a) == s[0]  # asking again keeps one's own sentence
    assert nxt(sequential, b) == s[1]
    assert nxt(sequential, c) == s[2]
    assert QueueReservation.objects.filter(project=sequential).count() == 3  # one row per user
    # b submits and moves on; a is still on s[0]
    services.annotation_save(sentence=s[1], actor=b, version=0, mentions=[], status="submitted")
    assert nxt(sequential, b) == s[3]
    assert QueueReservation.objects.get(project=sequential, user=b).sentence == s[3]


def test_queue_reservations_move_expire_and_are_released_when_the_queue_is_empty(sequential):
    s = _sentences(sequential, 2)
    a, b = _annotators(sequential, 2)
    assert nxt(sequential, a) == s[0]
    # a skips s[0]: their reservation moves with them, so s[0] is free again for b
    assert nxt(sequential, a, exclude=[s[0].pk]) == s[1]
    assert nxt(sequential, b) == s[0]
    # a lapsed reservation holds nothing: a's s[1] goes to b once it has expired
    QueueReservation.objects.filter(user=a).update(expires_at=timezone.now() - timedelta(seconds=1))
    services.annotation_save(sentence=s[0], actor=b, version=0, mentions=[], status="submitted")
    assert nxt(sequential, b) == s[1]
    # a skips everything left: nothing is held for them any more
    assert nxt(sequential, a, exclude=[s[0].pk, s[1].pk]) is None
    assert not QueueReservation.objects.filter(user=a).exists()


def test_queue_reservations_count_against_annotators_per_sentence(sequential):
    from annotation.services.project_settings import project_settings_update

    project_settings_update(project=sequential, annotators_per_sentence=2)
    s = _sentences(sequential, 3)
    a, b, c, d = _annotators(sequential, 4)
    assert nxt(sequential, a) == s[0]
    assert nxt(sequential, b) == s[0]  # two places on each sentence
    assert nxt(sequential, c) == s[1]
    # a submits: a's submission and b's reservation fill s[0] (a's lingering reservation is not counted twice)
    services.annotation_save(sentence=s[0], actor=a, version=0, mentions=[], status="submitted")
    assert nxt(sequential, d) == s[1]
    assert nxt(sequential, a) == s[2]  # a moves on; s[0] stays full (a submitted, b is on it)
    assert not selectors.queue_candidates(project=sequential, user=UserFactory()).filter(pk=s[0].pk).exists()


def test_a_users_draft_comes_back_to_them_even_when_someone_else_holds_it(sequential):
    s = _sentences(sequential, 2)
    a, b = _annotators(sequential, 2)
    services.annotation_save(sentence=s[0], actor=a, version=0, mentions=[])  # a's draft, never via the queue
    assert nxt(sequential, b) == s[0]  # the draft does not hold s[0]; b's reservation does
    assert nxt(sequential, a) == s[0]  # a's own unfinished work still comes first for a
    assert QueueReservation.objects.get(user=b).sentence == s[0]  # and b keeps their reservation


def test_queue_reservations_can_be_turned_off(sequential, settings):
    settings.TRIALMARK_QUEUE_RESERVE_MINUTES = 0
    s = _sentences(sequential, 2)
    a, b = _annotators(sequential, 2)
    assert nxt(sequential, a) == s[0] and nxt(sequential, b) == s[0]
    assert not QueueReservation.objects.exists()


def test_the_api_hands_concurrent_annotators_different_sentences(sequential, client_for, members):
    from rest_framework.test import APIClient

    s = _sentences(sequential, 3)
    other = _annotators(sequential, 1)[0]
    url = reverse("api-queue-next", kwargs={"project_id": sequential.pk})
    first = client_for("annotator").get(url).json()["id"]
    c = APIClient()
    c.force_authenticate(other)
    assert [first, c.get(url).json()["id"]] == [s[0].pk, s[1].pk]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads share no in-memory SQLite test database"
)
def test_simultaneous_requests_never_hand_one_sentence_to_two_annotators(project):
    """Eight annotators ask at once, submit, and ask again: no sentence goes to two of them."""
    project.queue_strategy = "sequential"
    project.save()
    s = _sentences(project, 12) + _sentences(project, 12, key="NCT10_inc")
    users = _annotators(project, 8)
    got: dict[int, list[int]] = {u.pk: [] for u in users}
    start = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def work(user):
        try:
            for _ in range(3):
                start.wait(timeout=30)
                found = services.next_sentence_for(project=project, user=user)
                got[user.pk].append(found.pk if found else None)
                if found is not None:
                    services.annotation_save(
                        sentence=found, actor=user, version=0, mentions=[], status="submitted"
                    )
        except BaseException as e:  # reported below: an assertion in a thread would be lost
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    handed = [pk for u in users for pk in got[u.pk]]
    assert None not in handed
    assert len(set(handed)) == len(handed) == 24, got  # 24 hand-outs, 24 different sentences
    held = list(QueueReservation.objects.values_list("sentence_id", flat=True))
    assert len(held) == len(set(held)) == len(users)
    assert set(held) <= {x.pk for x in s}


def test_the_empty_queue_page_says_what_others_are_holding(sequential, client, members):
    s = _sentences(sequential, 1)
    other = _annotators(sequential, 1)[0]
    assert nxt(sequential, other) == s[0]
    client.force_login(members["annotator"])
    r = client.get(reverse("annotate-next", args=[sequential.pk]))
    assert r.status_code == 200
    assert "1 more sentence is being annotated by others right now" in " ".join(r.content.decode().split())
    assert selectors.queue_held_by_others(project=sequential, user=other) == 0  # not their own


def test_leaving_the_project_or_becoming_a_viewer_frees_what_the_queue_held(sequential, client_for):
    s = _sentences(sequential, 2)
    a, b = _annotators(sequential, 2)
    assert nxt(sequential, a) == s[0] and nxt(sequential, b) == s[1]
    url = lambda u: reverse("api-member-detail", kwargs={"project_id": sequential.pk, "user_id": u.pk})  # noqa: E731
    assert client_for("admin").delete(url(a)).status_code == 204
    assert client_for("admin").patch(url(b), {"role": "viewer"}, format="json").status_code == 200
    assert not QueueReservation.objects.exists()
    assert nxt(sequential, UserFactory()) == s[0]
