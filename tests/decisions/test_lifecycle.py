"""Draft → in review → approved | rejected; approved → superseded. Separation of duties for all."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

import factories as make
from riskreg.decisions import lifecycle
from riskreg.decisions.digest import decision_digest
from riskreg.decisions.models import DecisionError, DecisionStatus, ReleaseDecision
from riskreg.frameworks.models import GovernanceTitle

pytestmark = pytest.mark.django_db


@pytest.fixture
def titles():
    return GovernanceTitle.objects.create(name="RSO"), GovernanceTitle.objects.create(name="CEO")


@pytest.fixture
def decision(titles):
    version = make.framework_version()
    version.required_titles.set(titles)
    draft = make.decision(version=version, author=make.user("author"))
    determination = make.determination(draft)
    determination.cited_evaluations.add(make.evaluation(snap=draft.snapshot, cat=determination.category))
    return draft


def holder(title, username, **extra):
    user = make.user(username, **extra)
    title.holders.add(user)
    return user


def test_a_draft_is_submitted_then_approved_when_every_title_has_signed(decision, titles):
    rso, ceo = titles
    lifecycle.submit(decision, by=decision.author)
    assert decision.status == DecisionStatus.IN_REVIEW
    lifecycle.sign(decision, by=holder(rso, "r"), title=rso, verdict="approve")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_REVIEW
    lifecycle.sign(decision, by=holder(ceo, "c"), title=ceo, verdict="approve")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.APPROVED
    assert decision.sign_offs.count() == 2
    assert {s.digest for s in decision.sign_offs.all()} == {decision_digest(decision)}
    assert (
        decision.history.first().history_change_reason == "approved: the gate passed with every required title signed"
    )


def test_the_author_cannot_sign_even_as_a_superuser_holding_the_title(decision, titles):
    rso, _ = titles
    decision.author.is_superuser = True
    decision.author.save()
    rso.holders.add(decision.author)
    lifecycle.submit(decision, by=decision.author)
    with pytest.raises(DecisionError, match="You wrote this decision"):
        lifecycle.sign(decision, by=decision.author, title=rso, verdict="approve")
    assert not decision.sign_offs.exists()


def test_one_person_cannot_sign_for_two_titles(decision, titles):
    rso, ceo = titles
    both = holder(rso, "both")
    ceo.holders.add(both)
    lifecycle.submit(decision, by=decision.author)
    lifecycle.sign(decision, by=both, title=rso, verdict="approve")
    with pytest.raises(DecisionError, match="already signed"):
        lifecycle.sign(decision, by=both, title=ceo, verdict="approve")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_REVIEW


def test_a_title_is_signed_once(decision, titles):
    rso, _ = titles
    lifecycle.submit(decision, by=decision.author)
    lifecycle.sign(decision, by=holder(rso, "r1"), title=rso, verdict="approve")
    with pytest.raises(DecisionError, match="has already signed"):
        lifecycle.sign(decision, by=holder(rso, "r2"), title=rso, verdict="approve")


def test_only_holders_of_a_required_title_sign(decision, titles):
    rso, _ = titles
    lifecycle.submit(decision, by=decision.author)
    with pytest.raises(DecisionError, match="do not hold"):
        lifecycle.sign(decision, by=make.user("nobody"), title=rso, verdict="approve")
    other = GovernanceTitle.objects.create(name="Board")
    with pytest.raises(DecisionError, match="does not ask for a sign-off"):
        lifecycle.sign(decision, by=holder(other, "board"), title=other, verdict="approve")


def test_a_rejection_rejects_the_decision(decision, titles):
    rso, _ = titles
    lifecycle.submit(decision, by=decision.author)
    lifecycle.sign(decision, by=holder(rso, "r"), title=rso, verdict="reject", comment="Evidence too thin.")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.REJECTED


def test_drafts_only_are_submitted_and_in_review_only_signed(decision, titles):
    rso, _ = titles
    with pytest.raises(DecisionError, match="in review"):
        lifecycle.sign(decision, by=holder(rso, "r"), title=rso, verdict="approve")
    lifecycle.submit(decision, by=decision.author)
    with pytest.raises(DecisionError, match="Only a draft"):
        lifecycle.submit(decision, by=decision.author)


def approve(decision, titles):
    rso, ceo = titles
    lifecycle.submit(decision, by=decision.author)
    lifecycle.sign(decision, by=holder(rso, f"r{decision.pk}"), title=rso, verdict="approve")
    lifecycle.sign(decision, by=holder(ceo, f"c{decision.pk}"), title=ceo, verdict="approve")
    decision.refresh_from_db()


def test_superseding_copies_the_decision_into_a_draft_and_retires_the_old_one_on_approval(decision, titles):
    approve(decision, titles)
    writer = make.user("writer")
    draft = lifecycle.supersede(decision, by=writer)
    assert (draft.status, draft.supersedes, draft.author) == (DecisionStatus.DRAFT, decision, writer)
    old = decision.determinations.get()
    new = draft.determinations.get()
    assert (new.category, new.verdict) == (old.category, old.verdict)
    assert list(new.cited_evaluations.all()) == list(old.cited_evaluations.all())
    approve(draft, titles)
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.SUPERSEDED


def test_an_approved_decision_cannot_be_submitted_or_signed_again(decision, titles):
    approve(decision, titles)
    with pytest.raises(DecisionError):
        lifecycle.submit(decision, by=decision.author)
    with pytest.raises(DecisionError):
        lifecycle.sign(decision, by=holder(titles[0], "late"), title=titles[0], verdict="approve")


def test_a_sign_off_goes_stale_when_what_was_signed_changes(decision, titles):
    rso, ceo = titles
    lifecycle.submit(decision, by=decision.author)
    lifecycle.sign(decision, by=holder(rso, "r"), title=rso, verdict="approve")
    evaluation = decision.determinations.get().cited_evaluations.get()
    evaluation.score = 0.99
    evaluation._change_reason = "re-run with the fixed grader"  # a cited evaluation changes only with a reason
    evaluation.save()
    assert decision.sign_offs.get().digest != decision_digest(decision)
    # the stale RSO sign-off no longer counts: the CEO alone does not approve it
    lifecycle.sign(decision, by=holder(ceo, "c"), title=ceo, verdict="approve")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_REVIEW


def test_the_pages_walk_a_decision_through_review(client, decision, titles):
    rso, ceo = titles
    writer = decision.author
    writer.groups.add(Group.objects.get(name="evaluator"))
    client.force_login(writer)
    submit = reverse("decisions:submit", args=[decision.pk])
    assert "Confirm: submit" in client.post(submit).content.decode()  # the first POST asks for confirmation
    assert ReleaseDecision.objects.get(pk=decision.pk).status == "draft"
    assert make.post_confirmed(client, submit).status_code == 302
    approver = holder(rso, "appr")
    approver.groups.add(Group.objects.get(name="approver"))
    client.force_login(approver)
    sign = make.signing(decision, rso)
    first = client.post(reverse("decisions:sign", args=[decision.pk]), sign)
    assert "Confirm: sign" in first.content.decode() and "Yes, sign it" in first.content.decode()
    assert ReleaseDecision.objects.get(pk=decision.pk).sign_offs.count() == 0
    response = make.post_confirmed(client, reverse("decisions:sign", args=[decision.pk]), sign)
    assert response.status_code == 302
    assert ReleaseDecision.objects.get(pk=decision.pk).sign_offs.count() == 1
    # the same person is offered no second title on the same content
    page = client.get(decision.get_absolute_url()).content.decode()
    assert "You have signed this content" in page and 'class="record-form sign-form"' not in page
    # a rejection needs a reason, shown beside the field; nothing is written
    approver = holder(ceo, "appr2")
    approver.groups.add(Group.objects.get(name="approver"))
    client.force_login(approver)
    response = client.post(reverse("decisions:sign", args=[decision.pk]), make.signing(decision, ceo, "reject"))
    assert response.status_code == 400
    assert "Say why you reject it." in response.content.decode()
    assert ReleaseDecision.objects.get(pk=decision.pk).sign_offs.count() == 1
