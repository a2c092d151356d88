"""Signing knowing what (issue 16): a one-screen summary above the sign form, only the titles the signer
holds, a confirmation step for signing, rejecting, submitting and revoking a token."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

import factories as make
from riskreg.accounts.models import ApiToken
from riskreg.decisions import lifecycle
from riskreg.decisions.models import ReleaseDecision
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
    assert "You hold none of the titles" in page and 'id="what-you-sign"' not in page


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
    data = {"title": ceo.pk, "verdict": verdict, "comment": "Because." if verdict == "reject" else ""}
    first = client.post(url, data)
    assert first.status_code == 200 and button in first.content.decode() and not decision.sign_offs.exists()
    client.post(url, {**data, "confirm": "yes"})
    assert decision.sign_offs.get().verdict == verdict
    if verdict == "reject":
        assert ReleaseDecision.objects.get(pk=decision.pk).status == "rejected"


def test_revoking_a_token_takes_a_second_step(client, viewer):
    token, _ = ApiToken.issue(viewer, "pipeline")
    client.force_login(viewer)
    url = reverse("token-revoke", args=[token.pk])
    assert "Yes, revoke it" in client.post(url).content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    client.post(url, {"confirm": "yes"})
    token.refresh_from_db()
    assert token.revoked_at is not None
