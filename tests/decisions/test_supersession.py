"""Lines of supersession (issue 27, finding 4): one decision in force per line, and no line stuck for good.

The red team superseded an approved decision, had the draft rejected, revised it: the revision lost its
`supersedes` link, so once approved there were two approved decisions that both passed the pipeline gate,
and the old one refused any new supersede because the rejected draft held the only place.
"""

import threading

import pytest
from django.db import connection, connections, transaction
from django.urls import reverse

import factories as make
from riskreg.decisions import lifecycle
from riskreg.decisions.gate import gate
from riskreg.decisions.models import DecisionError, DecisionStatus, ReleaseDecision
from riskreg.frameworks.models import GovernanceTitle

pytestmark = pytest.mark.django_db


@pytest.fixture
def line():
    """An approved decision, and the titles and signers that approve drafts of its line."""
    with transaction.atomic():  # a transactional test writes outside a request too
        return _line()


def _line():
    rso, ceo = GovernanceTitle.objects.create(name="RSO"), GovernanceTitle.objects.create(name="CEO")
    version = make.framework_version()
    version.required_titles.set([rso, ceo])
    first = make.decision(version=version, author=make.user("author"))
    determination = make.determination(first, reasoning="r")
    determination.cited_evaluations.add(make.evaluation(snap=first.snapshot, cat=determination.category))
    signers = {rso: make.user("rso"), ceo: make.user("ceo")}
    for title, signer in signers.items():
        title.holders.add(signer)
    approve(first, signers)
    return first, signers


def approve(decision, signers):
    lifecycle.submit(decision, by=decision.author)
    for title, signer in signers.items():
        lifecycle.sign(decision, by=signer, title=title, verdict="approve")
    decision.refresh_from_db()


def reject(decision, signers):
    lifecycle.submit(decision, by=decision.author)
    title, signer = next(iter(signers.items()))
    lifecycle.sign(decision, by=signer, title=title, verdict="reject", comment="Not yet.")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.REJECTED


def test_the_red_teams_path_leaves_one_approved_decision(line):
    first, signers = line
    draft = lifecycle.supersede(first, by=make.user("writer"))
    reject(draft, signers)
    revision = lifecycle.revise(draft, by=make.user("reviser"))
    assert revision.supersedes == first  # the revision keeps what it revises' link
    approve(revision, signers)
    assert revision.status == DecisionStatus.APPROVED
    first.refresh_from_db()
    assert first.status == DecisionStatus.SUPERSEDED
    assert [d.pk for d in ReleaseDecision.objects.all() if gate(d).release_allowed] == [revision.pk]


def test_a_rejected_superseding_draft_does_not_block_a_new_supersede(line):
    first, signers = line
    reject(lifecycle.supersede(first, by=make.user("writer")), signers)
    again = lifecycle.supersede(first, by=make.user("writer2"))
    assert again.supersedes == first
    approve(again, signers)
    first.refresh_from_db()
    assert (again.status, first.status) == (DecisionStatus.APPROVED, DecisionStatus.SUPERSEDED)


def test_a_withdrawn_or_abandoned_draft_does_not_block_a_new_supersede(line):
    first, _ = line
    withdrawn = lifecycle.supersede(first, by=make.user("writer"))
    lifecycle.submit(withdrawn, by=withdrawn.author)
    with pytest.raises(DecisionError, match="is in review"):  # being signed: one at a time
        lifecycle.supersede(first, by=make.user("writer2"))
    lifecycle.withdraw(withdrawn, by=withdrawn.author)
    assert lifecycle.supersede(first, by=make.user("writer3")).supersedes == first


def test_of_two_superseding_drafts_only_the_first_approved_takes_effect(line):
    first, signers = line
    one = lifecycle.supersede(first, by=make.user("writer"))
    two = lifecycle.supersede(first, by=make.user("writer2"))
    approve(one, signers)
    report = gate(two)
    check = next(c for c in report.checks if c.code == "supersession")
    assert check.status == "block" and "no longer in force" in check.reason
    with pytest.raises(DecisionError, match="no longer in force"):
        lifecycle.submit(two, by=two.author)
    two.refresh_from_db()
    assert two.status == DecisionStatus.DRAFT


def test_a_second_approval_in_the_same_line_is_refused_under_the_lock(line):
    """Both drafts in review before either is approved: the gate passed for both when they were submitted;
    the second approval finds the earlier decision no longer in force and rolls back whole."""
    first, signers = line
    one = lifecycle.supersede(first, by=make.user("writer"))
    two = lifecycle.supersede(first, by=make.user("writer2"))
    lifecycle.submit(one, by=one.author)
    lifecycle.submit(two, by=two.author)
    (title, signer), (last_title, last_signer) = list(signers.items())
    lifecycle.sign(one, by=signer, title=title, verdict="approve")
    lifecycle.sign(two, by=signer, title=title, verdict="approve")
    lifecycle.sign(one, by=last_signer, title=last_title, verdict="approve")
    with pytest.raises(DecisionError, match="no longer in force"):
        lifecycle.sign(two, by=last_signer, title=last_title, verdict="approve")
    two.refresh_from_db()
    assert two.status == DecisionStatus.IN_REVIEW and two.sign_offs.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_leave_one_decision_in_force(line):
    """On PostgreSQL, two last signatures of two superseding drafts at the same moment: one approves; the
    other is refused, or signs without approving (its gate, re-run after its sign-off, now finds the
    earlier decision superseded), whichever order the row locks give."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks")
    first, signers = line
    with transaction.atomic():
        drafts = [lifecycle.supersede(first, by=make.user(f"writer{n}")) for n in range(2)]
    (title, signer), (last_title, last_signer) = list(signers.items())
    for draft in drafts:
        lifecycle.submit(draft, by=draft.author)
        lifecycle.sign(draft, by=signer, title=title, verdict="approve")
    barrier, outcomes = threading.Barrier(2), []

    def last_signature(draft):
        try:
            barrier.wait()
            lifecycle.sign(draft, by=last_signer, title=last_title, verdict="approve")
            outcomes.append(draft.status)
        except DecisionError as error:
            outcomes.append(str(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=last_signature, args=(draft,)) for draft in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and outcomes.count(DecisionStatus.APPROVED) == 1, outcomes
    assert any(o == DecisionStatus.IN_REVIEW or "no longer in force" in o for o in outcomes), outcomes
    statuses = sorted(ReleaseDecision.objects.filter(supersedes=first).values_list("status", flat=True))
    assert statuses == [DecisionStatus.APPROVED, DecisionStatus.IN_REVIEW]
    first.refresh_from_db()
    assert first.status == DecisionStatus.SUPERSEDED


def test_a_line_broken_before_the_fix_still_passes_only_its_newest_decision(line):
    """A revision made before issue 27 lost its link: both it and the old decision are approved. The gate
    blocks the old one, named by the decision that took its place."""
    first, signers = line
    draft = lifecycle.supersede(first, by=make.user("writer"))
    reject(draft, signers)
    revision = lifecycle.revise(draft, by=make.user("reviser"))
    revision.supersedes = None  # as revise wrote it before the fix
    revision.save()
    approve(revision, signers)
    first.refresh_from_db()
    assert first.status == DecisionStatus.APPROVED  # nothing moved it, as before the fix
    report = gate(first)
    check = next(c for c in report.checks if c.code == "supersession")
    assert check.status == "block" and str(revision) in check.reason
    assert not report.release_allowed and gate(revision).release_allowed


def test_the_page_lists_each_superseding_draft_and_offers_a_new_one(client, evaluator, line):
    first, signers = line
    rejected = lifecycle.supersede(first, by=make.user("writer"))
    reject(rejected, signers)
    client.force_login(evaluator)
    page = client.get(first.get_absolute_url()).content.decode()
    assert "Drafted to supersede it:" in page and "(rejected)" in page
    assert "Supersede with a new draft" in page
    response = client.post(reverse("decisions:supersede", args=[first.pk]))
    assert response.status_code == 302 and first.superseders.count() == 2
