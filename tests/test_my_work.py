"""My work (issue 16): each person sees what is theirs to do, and only that."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import factories as make
from riskreg import mywork
from riskreg.decisions import lifecycle
from riskreg.frameworks.models import GovernanceTitle
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_review():
    ceo, rso = GovernanceTitle.objects.create(name="CEO"), GovernanceTitle.objects.create(name="RSO")
    version = make.framework_version()
    version.required_titles.set([ceo, rso])
    decision = make.decision(version=version, author=make.user("writer"))
    determination = make.determination(decision)
    determination.cited_evaluations.add(make.evaluation(snap=decision.snapshot, cat=determination.category))
    lifecycle.submit(decision, by=decision.author)
    return decision, ceo, rso


def signer(name):
    """A user who may sign (the approver role); titles are given by the test."""
    user = make.user(name)
    user.groups.add(Group.objects.get(name="approver"))
    return user


def _cite(decision):
    determination = make.determination(decision)
    determination.cited_evaluations.add(make.evaluation(snap=decision.snapshot, cat=determination.category))


def _texts(section_key, user):
    return [t.text for s in mywork.my_work(user) if s.key == section_key for t in s.tasks]


def test_a_holder_of_a_required_title_is_asked_to_sign(in_review):
    decision, ceo, rso = in_review
    holder = signer("ceo-holder")
    ceo.holders.add(holder)
    assert _texts("sign", holder) == [f"Sign {decision} as CEO"]
    # Once signed for CEO, it is no longer theirs to do; the RSO holder still has it.
    lifecycle.sign(decision, by=holder, title=ceo, verdict="approve")
    assert _texts("sign", holder) == []
    other = signer("rso-holder")
    rso.holders.add(other)
    assert _texts("sign", other) == [f"Sign {decision} as RSO"]


def test_the_author_and_people_without_the_title_are_not_asked(in_review):
    decision, ceo, _ = in_review
    ceo.holders.add(decision.author)
    assert _texts("sign", decision.author) == []
    assert _texts("sign", make.user("no-title")) == []


def test_a_changed_approved_decision_asks_its_title_holders_to_reaffirm(in_review):
    decision, ceo, rso = in_review
    signers = {}
    for title in (ceo, rso):
        signers[title.name] = signer(f"s-{title.name}")
        title.holders.add(signers[title.name])
        lifecycle.sign(decision, by=signers[title.name], title=title, verdict="approve")
    assert _texts("reaffirm", signers["CEO"]) == []
    evaluation = decision.determinations.get().cited_evaluations.get()
    evaluation.outcome = "signal_met"
    evaluation._change_reason = "corrected"
    evaluation.save()
    assert _texts("reaffirm", signers["CEO"])[0].startswith(f"Re-affirm {decision} as CEO")
    assert _texts("reaffirm", make.user("someone")) == []


def test_an_evaluator_sees_their_own_drafts_only(evaluator, evaluator2):
    mine = make.decision(author=evaluator)
    texts = _texts("drafts", evaluator)
    assert len(texts) == 1 and str(mine) in texts[0]
    assert texts[0].startswith(("Fix ", "Submit the draft"))
    assert _texts("drafts", evaluator2) == []


def test_the_rejected_decision_is_the_authors_task_until_revised(evaluator, in_review):
    decision, ceo, _ = in_review
    holder = signer("rejector")
    ceo.holders.add(holder)
    writer = decision.author
    writer.groups.add(*evaluator.groups.all())
    lifecycle.sign(decision, by=holder, title=ceo, verdict="reject", comment="Thin.")
    tasks = [t for s in mywork.my_work(writer) if s.key == "returned" for t in s.tasks]
    assert tasks[0].text.startswith(f"{decision} was rejected") and "CEO: Thin." in tasks[0].detail
    lifecycle.revise(decision, by=writer)
    assert _texts("returned", writer) == []


def test_risk_owners_see_reviews_due_and_overdue():
    owner = make.user("olga", first_name="Olga", last_name="Risk")
    owner.groups.add(Group.objects.get(name="evaluator"))  # may record reviews: free-text owner names count
    today = timezone.localdate()
    common = {"description": "d", "inherent_likelihood": 3, "inherent_impact": 4, "residual_likelihood": 2,
              "residual_impact": 4}  # fmt: skip
    Risk.objects.create(code="R-1", title="Late", owner="Olga Risk", next_review=today - datetime.timedelta(days=1),
                        **common)  # fmt: skip
    Risk.objects.create(code="R-2", title="Soon", owner="olga", next_review=today + datetime.timedelta(days=10),
                        **common)  # fmt: skip
    Risk.objects.create(code="R-3", title="Later", owner="olga", next_review=today + datetime.timedelta(days=30),
                        **common)  # fmt: skip
    Risk.objects.create(code="R-4", title="Not hers", owner="team", next_review=today, **common)
    tasks = [t for s in mywork.my_work(owner) if s.key == "risks" for t in s.tasks]
    assert [(t.text.split()[2], t.overdue) for t in tasks] == [("R-1", True), ("R-2", False)]


def test_the_page_lists_the_tasks_with_counts_and_links(client, approver, in_review):
    decision, ceo, _ = in_review
    ceo.holders.add(approver)
    client.force_login(approver)
    page = client.get(reverse("my-work")).content.decode()
    assert "1 task" in page and f"Sign {decision} as CEO" in page
    assert f'href="{decision.get_absolute_url()}#what-you-sign"' in page


def test_after_logging_in_someone_with_tasks_lands_on_my_work_and_others_on_the_overview(client, viewer, approver,
                                                                                          in_review):  # fmt: skip
    _, ceo, _ = in_review
    ceo.holders.add(approver)
    login = reverse("accounts:login")
    response = client.post(login, {"username": "t-approver", "password": "pw-for-tests"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("my-work"))
    client.logout()
    response = client.post(login, {"username": "t-viewer", "password": "pw-for-tests"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")


def test_someone_who_may_not_sign_is_not_asked_though_they_hold_the_title(in_review):
    decision, ceo, _ = in_review
    evaluator_with_title = make.user("holds-but-evaluates")
    evaluator_with_title.groups.add(Group.objects.get(name="evaluator"))
    ceo.holders.add(evaluator_with_title)
    assert _texts("sign", evaluator_with_title) == []


def test_someone_who_signed_this_content_is_not_asked_for_another_title(in_review):
    decision, ceo, rso = in_review
    both = signer("both-titles")
    ceo.holders.add(both)
    rso.holders.add(both)
    assert _texts("sign", both) == [f"Sign {decision} as CEO, RSO"]
    lifecycle.sign(decision, by=both, title=ceo, verdict="approve")
    assert _texts("sign", both) == []  # each title is signed by a different person


def test_the_cap_counts_tasks_not_candidates(in_review):
    """Decisions already signed for the user's title come first by id; the task after them is still found."""
    decision, ceo, _ = in_review
    holder, other = signer("asked"), signer("signed-first")
    ceo.holders.add(holder, other)
    lifecycle.sign(decision, by=other, title=ceo, verdict="approve")
    for _ in range(3):
        signed = make.decision(version=decision.framework_version, author=make.user())
        _cite(signed)
        lifecycle.submit(signed, by=signed.author)
        lifecycle.sign(signed, by=other, title=ceo, verdict="approve")
    later = make.decision(version=decision.framework_version, author=make.user("other-writer"))
    _cite(later)
    lifecycle.submit(later, by=later.author)
    assert [t.text for t in mywork.to_sign(holder, limit=1)] == [f"Sign {later} as CEO"]


def test_a_co_writer_sees_the_draft_they_worked_on(evaluator, evaluator2):
    draft = make.decision(author=evaluator)
    part = make.determination(draft)
    part.reasoning, part._history_user = "Changed by the second evaluator.", evaluator2
    part.save()
    assert any(str(draft) in text for text in _texts("drafts", evaluator2))


def test_my_work_does_not_grow_in_queries_with_decisions_that_are_not_the_users(in_review):
    decision, ceo, _ = in_review
    holder = signer("counted")
    ceo.holders.add(holder)

    def queries():
        with CaptureQueriesContext(connection) as seen:
            mywork.my_work(holder)
        return len(seen)

    def approved(count):  # approved decisions that did not change: nothing to re-affirm
        for _ in range(count):
            other = make.decision(version=decision.framework_version, author=make.user())
            _cite(other)
            make.approve(other)

    approved(2)
    queries()  # the user's permissions are read once, then cached on the user
    before = queries()
    approved(6)
    assert queries() == before


def test_the_header_counts_the_tasks(client, approver, in_review):
    _, ceo, _ = in_review
    ceo.holders.add(approver)
    client.force_login(approver)
    assert 'class="badge task-count"' not in client.get(reverse("decisions:list")).content.decode()  # not yet counted
    client.get(reverse("my-work"))  # counted there (and when logging in); the pages after show it
    page = client.get(reverse("decisions:list")).content.decode()
    assert 'class="badge task-count"' in page and ">1</span>" in page.split('class="badge task-count"')[1][:40]


def test_an_import_previewed_and_not_confirmed_is_a_task(evaluator, client):
    from riskreg.importers.views import SESSION_KEY

    client.force_login(evaluator)
    session = client.session
    session[SESSION_KEY] = {"abc": [["0.eval", "2026-04-07_cyber-range.eval"]]}
    session.save()
    page = client.get(reverse("my-work")).content.decode()
    assert "Confirm or drop the import you previewed: 2026-04-07_cyber-range.eval" in page


# -- found by a helper's attacker pass ------------------------------------------------------------


def test_someone_who_rejected_or_withdrew_is_not_given_the_decision_as_theirs(evaluator, in_review):
    decision, ceo, _ = in_review
    both = signer("evaluates-and-signs")
    both.groups.add(Group.objects.get(name="evaluator"))
    ceo.holders.add(both)
    lifecycle.sign(decision, by=both, title=ceo, verdict="reject", comment="No.")
    assert _texts("returned", both) == [] and _texts("drafts", both) == []


def test_someone_who_re_affirmed_this_content_is_not_asked_again_for_another_title(in_review):
    decision, ceo, rso = in_review
    boss = signer("boss")
    ceo.holders.add(boss)
    other = signer("other")
    rso.holders.add(other)
    lifecycle.sign(decision, by=boss, title=ceo, verdict="approve")
    lifecycle.sign(decision, by=other, title=rso, verdict="approve")
    rso.holders.add(boss)  # boss now holds both titles
    evaluation = decision.determinations.get().cited_evaluations.get()
    evaluation.score, evaluation._change_reason = 0.77, "rescored"
    evaluation.save()
    assert len(_texts("reaffirm", boss)) == 1
    lifecycle.reaffirm(decision, by=boss, title=ceo)
    assert _texts("reaffirm", boss) == []  # RSO is re-affirmed by someone else


def test_risk_tasks_go_only_to_people_who_may_see_and_review_them():
    from riskreg.risks.models import Risk

    today = timezone.localdate()
    with transaction.atomic():
        Risk(code="R-9", title="Secret risk title", owner="Olga Ivanova", next_review=today, description="d",
             inherent_likelihood=1, inherent_impact=1, residual_likelihood=1, residual_impact=1).save()  # fmt: skip
    nobody = make.user("olga", first_name="Olga", last_name="Ivanova")
    assert "Secret risk title" not in str([t.text for s in mywork.my_work(nobody) for t in s.tasks])
    viewer = make.user("olga2", first_name="Olga", last_name="Ivanova")
    viewer.groups.add(Group.objects.get(name="viewer"))
    assert _texts("risks", viewer) == []  # a free-text name match is a task only for who may record the review
    manager = make.user("olga3", first_name="Olga", last_name="Ivanova")
    manager.groups.add(Group.objects.get(name="evaluator"))
    assert len(_texts("risks", manager)) == 1


def test_the_header_count_is_not_left_stale_by_a_step(client, in_review):
    decision, ceo, _ = in_review
    holder = signer("counted-signer")
    ceo.holders.add(holder)
    client.force_login(holder)
    client.get(reverse("my-work"))
    assert 'class="badge task-count"' in client.get(reverse("decisions:list")).content.decode()
    make.post_confirmed(client, reverse("decisions:sign", args=[decision.pk]), make.signing(decision, ceo))
    assert 'class="badge task-count"' not in client.get(reverse("decisions:list")).content.decode()
