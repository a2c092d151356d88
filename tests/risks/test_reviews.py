"""Risk reviews (issue 16): an interval, a recorded review (who, when, in the history), overdue shown."""

import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from riskreg.risks.models import Risk

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
