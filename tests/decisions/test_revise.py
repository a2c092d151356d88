"""A rejected decision is revised into a new draft that links back to it (issue 16)."""

import pytest
from django.urls import reverse

import factories as make
from riskreg.decisions import lifecycle
from riskreg.decisions.models import DecisionError, DecisionStatus
from riskreg.frameworks.models import GovernanceTitle

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected():
    rso, ceo = GovernanceTitle.objects.create(name="RSO"), GovernanceTitle.objects.create(name="CEO")
    version = make.framework_version()
    version.required_titles.set([rso, ceo])
    draft = make.decision(version=version, author=make.user("author"), conditions="Partners only.")
    determination = make.determination(draft, reasoning="Thin.")
    determination.cited_evaluations.add(make.evaluation(snap=draft.snapshot, cat=determination.category))
    lifecycle.submit(draft, by=draft.author)
    signer = make.user("rso-holder")
    rso.holders.add(signer)
    lifecycle.sign(draft, by=signer, title=rso, verdict="reject", comment="Evidence too thin.")
    draft.refresh_from_db()
    assert draft.status == DecisionStatus.REJECTED
    return draft


def test_revising_copies_the_content_into_a_draft_that_links_back(rejected):
    evaluator = make.user("reviser")
    draft = lifecycle.revise(rejected, by=evaluator)
    assert (draft.status, draft.revises, draft.author) == (DecisionStatus.DRAFT, rejected, evaluator)
    assert (draft.title, draft.conditions, draft.scope) == (rejected.title, rejected.conditions, rejected.scope)
    old, new = rejected.determinations.get(), draft.determinations.get()
    assert (new.category_id, new.verdict, new.reasoning) == (old.category_id, old.verdict, old.reasoning)
    assert set(new.cited_evaluations.all()) == set(old.cited_evaluations.all())
    assert draft.history.get().history_change_reason == f"drafted to revise rejected decision {rejected.pk}"
    rejected.refresh_from_db()
    assert rejected.status == DecisionStatus.REJECTED and rejected.sign_offs.count() == 1  # unchanged


def test_only_a_rejected_decision_is_revised_and_once_at_a_time(rejected):
    with pytest.raises(DecisionError, match="Only a rejected decision"):
        lifecycle.revise(make.decision(), by=make.user())
    lifecycle.revise(rejected, by=make.user())
    with pytest.raises(DecisionError, match="already being revised"):
        lifecycle.revise(rejected, by=make.user())


def test_the_page_offers_revision_to_an_evaluator_and_links_both_ways(client, evaluator, viewer, rejected):
    client.force_login(viewer)
    assert "Revise into a new draft" not in client.get(rejected.get_absolute_url()).content.decode()
    assert client.post(reverse("decisions:revise", args=[rejected.pk])).status_code == 403
    client.force_login(evaluator)
    assert "Revise into a new draft" in client.get(rejected.get_absolute_url()).content.decode()
    response = client.post(reverse("decisions:revise", args=[rejected.pk]))
    draft = rejected.revisions.get()
    assert response.status_code == 302 and response["Location"] == reverse("decisions:edit", args=[draft.pk])
    assert "Revises the rejected" in client.get(draft.get_absolute_url()).content.decode()
    page = client.get(rejected.get_absolute_url()).content.decode()
    assert "Revised in" in page and "Revise into a new draft" not in page
