"""Signing knowing what (issue 16): a one-screen summary above the sign form, only the titles the signer
holds, a confirmation step for signing, rejecting, submitting and revoking a token."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

import factories as make
from riskreg.accounts.models import ApiToken
from riskreg.decisions import lifecycle
from riskreg.decisions.gate import authors_of, gate
from riskreg.decisions.models import DecisionError, ReleaseDecision
from riskreg.frameworks.models import GovernanceTitle

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_review():
    ceo, rso = GovernanceTitle.objects.create(name="CEO"), GovernanceTitle.objects.create(name="RSO")
    version = make.framework_version()
    version.required_titles.set([ceo, rso])
    decision = make.decision(version=version, author=make.user("writer"), conditions="Vetted partners only.",
                             scope_details="Forty named maintainers.")  # fmt: skip
    determination = make.determination(decision, reasoning="r")
    determination.cited_evaluations.add(make.evaluation(snap=decision.snapshot, cat=determination.category,
                                                        title="Cyber range", outcome="below_threshold"))  # fmt: skip
    lifecycle.submit(decision, by=decision.author)
    return decision, ceo, rso


def approver_holding(*titles):
    user = make.user()
    user.groups.add(Group.objects.get(name="approver"))
    for title in titles:
        title.holders.add(user)
    return user


def test_the_summary_says_what_signing_commits_to(client, in_review):
    decision, ceo, _ = in_review
    client.force_login(approver_holding(ceo))
    page = client.get(decision.get_absolute_url()).content.decode()
    summary = page[page.index('id="what-you-sign"'):page.index("</section>", page.index('id="what-you-sign"'))]
    sign_url = reverse("decisions:sign", args=[decision.pk])
    expected = ("Limited-access programme", "Forty named maintainers.", "Vetted partners only.", "Cyber range",
                "below threshold", "recorded by its digest", f'action="{sign_url}"')  # fmt: skip
    for text in expected:
        assert text in summary, text
    assert page.index('id="what-you-sign"') < page.index('id="gate-heading"')  # above the gate, at the top


def test_the_form_offers_only_the_titles_the_signer_holds(client, in_review):
    decision, ceo, rso = in_review
    client.force_login(approver_holding(ceo))
    form = client.get(decision.get_absolute_url()).context["sign_form"]
    assert list(form.fields["title"].queryset) == [ceo]
    client.force_login(approver_holding())
    page = client.get(decision.get_absolute_url()).content.decode()
    assert "None of the titles this decision still asks to sign is yours" in page and 'id="what-you-sign"' not in page


def test_an_author_gets_no_form_and_no_confirmation(client, in_review):
    decision, ceo, _ = in_review
    ceo.holders.add(decision.author)
    decision.author.groups.add(Group.objects.get(name="approver"))
    client.force_login(decision.author)
    page = client.get(decision.get_absolute_url()).content.decode()
    assert "you cannot sign it off" in page and 'class="record-form sign-form"' not in page
    response = client.post(reverse("decisions:sign", args=[decision.pk]), {"title": ceo.pk, "verdict": "approve"},
                           follow=True)  # fmt: skip
    assert "You wrote this decision" in response.content.decode() and not decision.sign_offs.exists()


@pytest.mark.parametrize(("verdict", "button"), [("approve", "Yes, sign it"), ("reject", "Yes, reject it")])
def test_signing_and_rejecting_take_a_second_step(client, in_review, verdict, button):
    decision, ceo, _ = in_review
    client.force_login(approver_holding(ceo))
    url = reverse("decisions:sign", args=[decision.pk])
    data = make.signing(decision, ceo, verdict, "Because." if verdict == "reject" else "")
    first = client.post(url, data)
    assert first.status_code == 200 and button in first.content.decode() and not decision.sign_offs.exists()
    make.post_confirmed(client, url, data)
    assert decision.sign_offs.get().verdict == verdict
    if verdict == "reject":
        assert ReleaseDecision.objects.get(pk=decision.pk).status == "rejected"


def test_revoking_a_token_takes_a_second_step(client, viewer):
    token, _ = ApiToken.issue(viewer, "pipeline")
    client.force_login(viewer)
    url = reverse("accounts:token-revoke", args=[token.pk])
    assert "Yes, revoke it" in client.post(url).content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    make.post_confirmed(client, url)
    token.refresh_from_db()
    assert token.revoked_at is not None
    # a revoked token is not offered a second revocation
    response = client.post(url, follow=True)
    assert "already revoked" in response.content.decode() and "Yes, revoke it" not in response.content.decode()


# -- the confirmation carries what was read (found by a helper's attacker pass) -------------------


def test_a_hand_made_confirm_does_not_skip_the_confirmation_page(client, in_review):
    decision, ceo, _ = in_review
    client.force_login(approver_holding(ceo))
    url = reverse("decisions:sign", args=[decision.pk])
    for forged in ("yes", "1", "x" * 3000):
        response = client.post(url, {**make.signing(decision, ceo), "confirm": forged})
        assert response.status_code == 200 and "Yes, sign it" in response.content.decode()
    assert not decision.sign_offs.exists()


def test_a_confirmation_binds_every_field_the_signer_saw(client, in_review):
    decision, ceo, _ = in_review
    client.force_login(approver_holding(ceo))
    url = reverse("decisions:sign", args=[decision.pk])
    first = client.post(url, make.signing(decision, ceo, comment="As read."))
    posted = {**first.context["fields"], "confirm": first.context["confirm_token"], "comment": "Something else."}
    assert "Yes, sign it" in client.post(url, posted).content.decode()  # shown again, not signed
    assert not decision.sign_offs.exists()
    # nor does another user's confirmation, or one for another decision, count
    other = approver_holding(ceo)
    client.force_login(other)
    posted = {**first.context["fields"], "confirm": first.context["confirm_token"]}
    assert "Yes, sign it" in client.post(url, posted).content.decode()
    assert not decision.sign_offs.exists()


def test_a_change_between_reading_and_confirming_signs_nothing(client, in_review):
    decision, ceo, _ = in_review
    client.force_login(approver_holding(ceo))
    url = reverse("decisions:sign", args=[decision.pk])
    first = client.post(url, make.signing(decision, ceo))
    assert first.status_code == 200
    # meanwhile the evidence it cites is rescored (history kept, as every write is)
    evaluation = decision.determinations.get().cited_evaluations.get()
    evaluation.score, evaluation._change_reason = 0.99, "rescored while the signer read"
    evaluation.save()
    response = client.post(url, {**first.context["fields"], "confirm": first.context["confirm_token"],
                                 "password": "pw"}, follow=True)
    assert "changed after you read it" in response.content.decode()
    assert not decision.sign_offs.exists()


def test_the_sign_step_refuses_a_digest_other_than_the_current_one(in_review):
    decision, ceo, _ = in_review
    signer = approver_holding(ceo)
    with pytest.raises(DecisionError, match="changed after you read it"):
        lifecycle.sign(decision, by=signer, title=ceo, verdict="approve", expected_digest="0" * 64)
    assert not decision.sign_offs.exists()
    lifecycle.sign(decision, by=signer, title=ceo, verdict="approve", expected_digest=gate(decision).digest)
    assert decision.sign_offs.count() == 1


def test_a_title_signed_on_this_content_is_not_offered_again(client, in_review):
    decision, ceo, rso = in_review
    lifecycle.sign(decision, by=approver_holding(ceo), title=ceo, verdict="approve")
    both = approver_holding(ceo, rso)
    client.force_login(both)
    form = client.get(decision.get_absolute_url()).context["sign_form"]
    assert list(form.fields["title"].queryset) == [rso]


def test_a_blocked_draft_is_not_offered_the_submit_confirmation(client):
    decision = make.decision(author=make.user("drafter"))
    make.determination(decision, reasoning="r")  # cites no evaluation: the gate blocks it
    decision.author.groups.add(Group.objects.get(name="evaluator"))
    client.force_login(decision.author)
    response = client.post(reverse("decisions:submit", args=[decision.pk]), follow=True)
    page = response.content.decode()
    assert "Yes, submit it" not in page and "The release gate blocks this decision" in page
    assert ReleaseDecision.objects.get(pk=decision.pk).status == "draft"


def test_the_author_of_a_rejected_decision_stays_an_author_of_its_revision(in_review):
    """A colleague's revision copies the author's text: the author still may not sign it."""
    decision, ceo, rso = in_review
    writer = decision.author
    writer.groups.add(Group.objects.get(name="approver"))
    ceo.holders.add(writer)
    lifecycle.sign(decision, by=approver_holding(rso), title=rso, verdict="reject", comment="Thin.")
    colleague = make.user("colleague")
    revision = lifecycle.revise(ReleaseDecision.objects.get(pk=decision.pk), by=colleague)
    lifecycle.submit(revision, by=colleague)
    with pytest.raises(DecisionError, match="You wrote this decision"):
        lifecycle.sign(revision, by=writer, title=ceo, verdict="approve")
    assert {writer.pk, colleague.pk} <= authors_of(revision)


@pytest.mark.parametrize("comment", ["Причина отказа. " * 40 + "Конец", "理由" * 300, "x" * 1999])
def test_a_long_comment_in_any_script_can_be_confirmed(client, in_review, comment):
    decision, ceo, _ = in_review
    client.force_login(approver_holding(ceo))
    make.post_confirmed(client, reverse("decisions:sign", args=[decision.pk]),
                        make.signing(decision, ceo, "reject", comment))  # fmt: skip
    assert decision.sign_offs.get().comment == comment


def test_a_comment_has_a_limit(client, in_review):
    decision, ceo, _ = in_review
    client.force_login(approver_holding(ceo))
    response = client.post(reverse("decisions:sign", args=[decision.pk]),
                           make.signing(decision, ceo, "reject", "x" * 2001))  # fmt: skip
    assert response.status_code == 400 and not decision.sign_offs.exists()


def test_a_submit_confirmation_is_for_the_draft_as_it_was_shown(client):
    decision = make.decision(author=make.user("drafter"))
    determination = make.determination(decision, reasoning="r")
    determination.cited_evaluations.add(make.evaluation(snap=decision.snapshot, cat=determination.category))
    decision.author.groups.add(Group.objects.get(name="evaluator"))
    client.force_login(decision.author)
    url = reverse("decisions:submit", args=[decision.pk])
    first = client.post(url)
    token = first.context["confirm_token"]
    from django.db import transaction

    with transaction.atomic():  # the draft changes after the confirmation page was shown
        decision.title, decision._change_reason = "Changed after the page", "edit"
        decision.save()
    again = client.post(url, {**first.context["fields"], "confirm": token})
    assert again.status_code == 200 and "Yes, submit it" in again.content.decode()
    assert ReleaseDecision.objects.get(pk=decision.pk).status == "draft"
