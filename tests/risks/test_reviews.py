"""Risk reviews (issue 16): an interval, a recorded review (who, when, in the history), overdue shown."""

import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from riskreg.lib.dates import day
from riskreg.risks.models import Risk, RiskStatus

pytestmark = pytest.mark.django_db


def _risk(**fields):
    values = {"code": "R-9", "title": "Weights exfiltration", "description": "d", "owner": "team",
              "inherent_likelihood": 3, "inherent_impact": 4, "residual_likelihood": 2,
              "residual_impact": 4}  # fmt: skip
    with transaction.atomic():
        return Risk.objects.create(**{**values, **fields})


def test_recording_a_review_keeps_who_and_when_and_moves_the_next_one(client, evaluator):
    today = timezone.localdate()
    risk = _risk(next_review=today - datetime.timedelta(days=3), review_interval_days=90)
    client.force_login(evaluator)
    response = client.post(reverse("risks:review", args=[risk.pk]), {"note": "Controls re-tested"}, follow=True)
    risk.refresh_from_db()
    assert risk.last_reviewed_by == evaluator and risk.next_review == today + datetime.timedelta(days=90)
    latest = risk.history.latest()
    assert latest.history_user == evaluator and latest.history_change_reason == "reviewed: Controls re-tested"
    assert "Review of R-9 recorded" in response.content.decode()


def test_a_viewer_cannot_record_a_review(client, viewer):
    risk = _risk()
    client.force_login(viewer)
    assert client.post(reverse("risks:review", args=[risk.pk])).status_code == 403
    risk.refresh_from_db()
    assert risk.last_reviewed_at is None


def test_overdue_reviews_stand_out_on_the_list_and_the_page(client, viewer):
    risk = _risk(next_review=timezone.localdate() - datetime.timedelta(days=1))
    _risk(code="R-10", next_review=timezone.localdate() + datetime.timedelta(days=5))
    client.force_login(viewer)
    page = client.get(reverse("risks:list")).content.decode()
    assert page.count('class="overdue"') == 1 and "— overdue" in page
    assert "overdue" in client.get(risk.get_absolute_url()).content.decode()


def test_an_owner_is_a_user_or_named_as_text(client, evaluator, viewer):
    from django.core.exceptions import ValidationError

    owned = _risk(owner="", owner_user=evaluator, next_review=timezone.localdate())
    texted = _risk(code="R-11", owner="Security team")
    client.force_login(viewer)
    assert "(user)" in client.get(owned.get_absolute_url()).content.decode()
    assert "(named as text, not a user)" in client.get(texted.get_absolute_url()).content.decode()
    nobody = Risk(code="R-12", title="t", description="d", owner="", inherent_likelihood=1, inherent_impact=1,
                  residual_likelihood=1, residual_impact=1)  # fmt: skip
    with pytest.raises(ValidationError, match="Name the owner"):
        nobody.full_clean()


def test_a_user_owner_sees_the_review_in_my_work(evaluator):
    from riskreg import mywork

    _risk(owner="", owner_user=evaluator, next_review=timezone.localdate() + datetime.timedelta(days=3))
    tasks = [t.text for s in mywork.my_work(evaluator) if s.key == "risks" for t in s.tasks]
    assert len(tasks) == 1 and tasks[0].startswith("Review risk R-9")


def test_the_owner_may_review_their_own_risk_without_the_permission_to_change_risks(client, viewer):
    """The owner (a user) records the review of their risk; their roles alone would not let them."""
    risk = _risk(owner="", owner_user=viewer, next_review=timezone.localdate(), review_interval_days=30)
    client.force_login(viewer)
    assert "Record a review" in client.get(risk.get_absolute_url()).content.decode()
    response = client.post(reverse("risks:review", args=[risk.pk]), {"note": "checked"}, follow=True)
    assert response.status_code == 200 and "Review of R-9 recorded" in response.content.decode()
    risk.refresh_from_db()
    assert risk.last_reviewed_by == viewer and risk.next_review == timezone.localdate() + datetime.timedelta(days=30)
    latest = risk.history.latest()
    assert latest.history_user == viewer and latest.history_change_reason == "reviewed: checked"


def test_someone_else_without_the_permission_sees_no_button_and_gets_a_403(client, viewer, evaluator):
    risk = _risk(owner="", owner_user=evaluator)
    client.force_login(viewer)
    assert "Record a review" not in client.get(risk.get_absolute_url()).content.decode()
    versions = risk.history.count()
    response = client.post(reverse("risks:review", args=[risk.pk]))
    assert response.status_code == 403 and "Only the owner of R-9" in response.content.decode()
    risk.refresh_from_db()
    assert risk.last_reviewed_at is None and risk.history.count() == versions


def test_a_risk_manager_may_review_a_risk_owned_by_someone_else(client, viewer, evaluator):
    risk = _risk(owner="", owner_user=viewer)
    client.force_login(evaluator)
    assert "Record a review" in client.get(risk.get_absolute_url()).content.decode()
    client.post(reverse("risks:review", args=[risk.pk]))
    risk.refresh_from_db()
    assert risk.last_reviewed_by == evaluator and risk.history.latest().history_user == evaluator


def test_a_review_without_an_interval_clears_an_overdue_date_and_says_none_is_scheduled(client, evaluator):
    """Without an interval the review cannot move the date on; leaving it would show the risk overdue
    right after its review."""
    risk = _risk(next_review=timezone.localdate() - datetime.timedelta(days=3))
    client.force_login(evaluator)
    response = client.post(reverse("risks:review", args=[risk.pk]), follow=True)
    page = response.content.decode()
    risk.refresh_from_db()
    assert risk.next_review is None and risk.last_reviewed_by == evaluator
    assert "No next review is scheduled: set an interval or a date." in page and "badge status-rejected" not in page
    assert risk.history.latest().history_change_reason == "reviewed"


def test_a_review_without_an_interval_keeps_a_date_still_ahead(client, evaluator):
    ahead = timezone.localdate() + datetime.timedelta(days=10)
    risk = _risk(next_review=ahead)
    client.force_login(evaluator)
    response = client.post(reverse("risks:review", args=[risk.pk]), follow=True)
    risk.refresh_from_db()
    assert risk.next_review == ahead and f"The next review is due on {day(ahead)}" in response.content.decode()


def test_a_closed_risk_is_not_reviewed(client, evaluator):
    """A refusal in words, nothing written (no history row), and no button on the closed risk's page."""
    overdue = timezone.localdate() - datetime.timedelta(days=3)
    risk = _risk(owner="", owner_user=evaluator, status=RiskStatus.CLOSED, next_review=overdue, review_interval_days=30)
    client.force_login(evaluator)
    assert "Record a review" not in client.get(risk.get_absolute_url()).content.decode()
    versions = risk.history.count()
    response = client.post(reverse("risks:review", args=[risk.pk]), follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == risk.get_absolute_url()
    assert "R-9 is closed: a closed risk is not reviewed. Nothing was recorded." in page
    assert "Review of R-9 recorded" not in page
    risk.refresh_from_db()
    assert risk.last_reviewed_at is None and risk.next_review == overdue and risk.history.count() == versions
