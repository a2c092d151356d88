"""What a record may hold: dates a register could mean, and prose a page and its PDF can carry (issue 17).

A typo such as 9999-12-31 or a pasted quarter-megabyte rationale is refused with a message on the form
that was filled in (and by the model's validation, which the admin and every other form share), and
nothing is written.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

import factories as make
from riskreg.decisions.models import PROSE_LIMIT, Determination, GapAcknowledgement, ReleaseDecision
from riskreg.evaluations.models import Evaluation, Snapshot
from riskreg.frameworks.models import FrameworkVersion
from riskreg.lib.dates import EARLIEST, LATEST, plausible
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def _decision_form(**changes):
    data = {"snapshot": make.snapshot().pk, "framework_version": make.framework_version().pk, "title": "Limited access",
            "scope": "limited_access", "rationale": "Because.", "source_mark": "illustration"}  # fmt: skip
    return {**data, **changes}


def test_a_plain_decision_form_is_accepted(client, evaluator):
    client.force_login(evaluator)
    response = client.post(reverse("decisions:create"), _decision_form(effective_date="2026-04-07"))
    assert response.status_code == 302 and ReleaseDecision.objects.filter(title="Limited access").exists()


@pytest.mark.parametrize("changes, message", [
    ({"effective_date": "9999-12-31"}, "Give a date between 1 Jan 1950 and 31 Dec 2150"),
    ({"effective_date": "0202-04-07"}, "0202-04-07 is outside them"),
    ({"rationale": "x" * (PROSE_LIMIT + 1)}, f"at most {PROSE_LIMIT:,}".replace(",", "")),
    ({"conditions": "y " * PROSE_LIMIT}, "at most"),
])  # fmt: skip
def test_a_far_off_date_or_an_endless_text_is_refused_with_a_message(client, evaluator, changes, message):
    client.force_login(evaluator)
    response = client.post(reverse("decisions:create"), _decision_form(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ReleaseDecision.objects.filter(title="Limited access").exists()


@pytest.mark.parametrize("model, name", [
    (ReleaseDecision, "effective_date"), (Snapshot, "available_from"), (Evaluation, "started_on"),
    (Evaluation, "finished_on"), (FrameworkVersion, "effective_date"), (Risk, "next_review"),
])  # fmt: skip
def test_every_date_in_the_record_is_range_checked(model, name):
    field = model._meta.get_field(name)
    for far in (datetime.date(9999, 12, 31), datetime.date(1, 1, 1), LATEST + datetime.timedelta(days=1)):
        with pytest.raises(ValidationError):
            field.clean(far, None)
    for near in (EARLIEST, LATEST, datetime.date(2026, 4, 7)):
        assert field.clean(near, None) == near


@pytest.mark.parametrize("model, name", [
    (ReleaseDecision, "rationale"), (ReleaseDecision, "conditions"), (ReleaseDecision, "scope_details"),
    (Determination, "reasoning"), (Determination, "safeguards"), (Determination, "residual_risk"),
    (GapAcknowledgement, "rationale"),
])  # fmt: skip
def test_every_decision_text_printed_in_the_record_is_bounded(model, name):
    field = model._meta.get_field(name)
    field.run_validators("x" * PROSE_LIMIT)
    with pytest.raises(ValidationError):
        field.run_validators("x" * (PROSE_LIMIT + 1))


def test_none_and_the_edges_pass_the_date_check():
    plausible(None)
    plausible(EARLIEST)
    plausible(LATEST)


def test_a_text_of_many_short_lines_is_refused(client, evaluator):
    """Each line prints as one: 20,000 one-letter lines in a few fields made a 1,936-page record (helper-13)."""
    client.force_login(evaluator)
    response = client.post(reverse("decisions:create"), _decision_form(rationale="a\n" * 250))
    assert response.status_code == 200 and "At most 200 lines (this has 250)" in response.content.decode()
    assert not ReleaseDecision.objects.filter(title="Limited access").exists()
    assert client.post(reverse("decisions:create"), _decision_form(rationale="a\n" * 199 + "a")).status_code == 302


def test_a_review_interval_is_bounded_and_a_stored_huge_one_cannot_break_a_review(db):
    from django.utils import timezone

    from riskreg.risks.models import review

    field = Risk._meta.get_field("review_interval_days")
    for days in (0, 3651, 2**31 - 1):
        with pytest.raises(ValidationError):
            field.clean(days, None)
    assert field.clean(3650, None) == 3650
    from django.db import transaction

    owner = make.user("owner", is_superuser=True)
    with transaction.atomic():
        risk = Risk.objects.create(code="R-9", title="t", description="d", owner="o", inherent_likelihood=3,
                                   inherent_impact=3, residual_likelihood=2, residual_impact=2)  # fmt: skip
    Risk.objects.filter(pk=risk.pk).update(review_interval_days=2**31 - 1)  # stored before the bound
    review(risk, by=owner)
    risk.refresh_from_db()
    assert risk.next_review == timezone.localdate() + datetime.timedelta(days=3650)
