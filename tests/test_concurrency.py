"""No lost updates: saving over a newer version is refused with what changed; 50 parallel editors lose nothing."""

import re
import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

import factories as make
from conftest import postgres_only
from riskreg.audit.chain import bulk_create_with_history
from riskreg.risks.models import Risk


def new_risk(user) -> Risk:
    (risk,) = bulk_create_with_history(
        [Risk(code=f"C{make.category().pk}", title="Original", description="d", owner="o", inherent_likelihood=3,
              inherent_impact=3, residual_likelihood=2, residual_impact=2)],
        Risk, user=user,
    )  # fmt: skip
    return risk


def form_of(client, risk) -> dict:
    """The edit form as a browser would send it back: every field, including the hidden version."""
    page = client.get(reverse("risks:edit", args=[risk.pk])).content.decode()
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    data = {
        "code": risk.code, "title": risk.title, "description": risk.description, "owner": risk.owner,
        "inherent_likelihood": 3, "inherent_impact": 3, "residual_likelihood": 2, "residual_impact": 2,
        "treatment": "mitigate", "status": "open", "confidence": "not_stated", "source_mark": "verified",
        "source_section": "1",
    }  # fmt: skip
    return {**data, "version": version}


@pytest.mark.django_db
def test_the_second_of_two_editors_is_refused_and_shown_what_changed(client, evaluator, evaluator2):
    with transaction.atomic():
        risk = new_risk(evaluator)
    first, second = Client(), Client()
    first.force_login(evaluator)
    second.force_login(evaluator2)
    mine, theirs = form_of(first, risk), form_of(second, risk)
    assert first.post(reverse("risks:edit", args=[risk.pk]), {**mine, "owner": "Alice"}).status_code == 302
    response = second.post(reverse("risks:edit", args=[risk.pk]), {**theirs, "title": "Bob's title"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else saved this record" in page
    assert "Owner" in page and "<del>o</del>" in page and "<ins>Alice</ins>" in page and evaluator.username in page
    assert "Bob&#x27;s title" in page  # the refused edit is kept in the form
    risk.refresh_from_db()
    assert (risk.title, risk.owner) == ("Original", "Alice")
    # Saving again, now knowing, is accepted against the new version.
    again = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert (
        second.post(
            reverse("risks:edit", args=[risk.pk]),
            {**theirs, "title": "Bob's title", "owner": "Alice", "version": again},
        ).status_code
        == 302
    )
    risk.refresh_from_db()
    assert (risk.title, risk.owner) == ("Bob's title", "Alice")


@pytest.mark.django_db
def test_a_form_without_its_version_is_refused(client, evaluator):
    with transaction.atomic():
        risk = new_risk(evaluator)
    client.force_login(evaluator)
    data = form_of(client, risk)
    del data["version"]
    assert client.post(reverse("risks:edit", args=[risk.pk]), {**data, "title": "Blind"}).status_code == 409
    risk.refresh_from_db()
    assert risk.title == "Original"


@postgres_only
def test_fifty_parallel_edits_of_one_record_lose_nothing(committed_db, evaluator):
    """50 editors at once, each trying up to three times: every accepted edit is in the history, none is lost."""
    with transaction.atomic():
        risk = new_risk(evaluator)
    accepted, refused, errors = [], [], []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def editor(n):
        try:
            client = Client()
            client.force_login(evaluator)
            start.wait()
            for _ in range(3):
                data = form_of(client, Risk.objects.get(pk=risk.pk))
                response = client.post(reverse("risks:edit", args=[risk.pk]), {**data, "title": f"edit {n}"})
                with lock:
                    if response.status_code == 302:
                        accepted.append((n, int(data["version"])))
                        return
                    assert response.status_code == 409, response.status_code
                    refused.append(n)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=editor, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert accepted and refused  # they did collide
    print(f"50 editors: {len(accepted)} edits accepted, {len(refused)} attempts refused")
    history = list(Risk.history.filter(id=risk.pk).order_by("history_id").values_list("history_id", "title"))
    edits = history[1:]
    assert sorted(title for _, title in edits) == sorted(f"edit {n}" for n, _ in accepted)
    # Each accepted edit was made on the version just before it: nobody saved over an edit unseen.
    base_of = {f"edit {n}": version for n, version in accepted}
    for (previous_id, _), (_, title) in zip(history, edits, strict=False):
        assert base_of[title] == previous_id
