"""My work (issue 16): each person sees what is theirs to do, and only that."""

import datetime

import pytest
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


def _texts(section_key, user):
    return [t.text for s in mywork.my_work(user) if s.key == section_key for t in s.tasks]


def test_a_holder_of_a_required_title_is_asked_to_sign(in_review):
    decision, ceo, rso = in_review
    holder = make.user("ceo-holder")
    ceo.holders.add(holder)
    assert _texts("sign", holder) == [f"Sign {decision} as CEO"]
    # Once signed for CEO, it is no longer theirs to do; the RSO holder still has it.
    lifecycle.sign(decision, by=holder, title=ceo, verdict="approve")
    assert _texts("sign", holder) == []
    other = make.user("rso-holder")
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
        signers[title.name] = make.user(f"s-{title.name}")
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
    holder = make.user("rejector")
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
    response = client.post(reverse("login"), {"username": "t-approver", "password": "pw-for-tests"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("my-work"))
    client.logout()
    response = client.post(reverse("login"), {"username": "t-viewer", "password": "pw-for-tests"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
